import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PinoLoggerService, useJsonLogs } from './pino-logger.js';

/** A logger writing into an array of parsed JSON lines. */
function capture(levels: Parameters<typeof PinoLoggerService.prototype.setLogLevels>[0] | false) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: new PinoLoggerService(levels, sink), lines };
}

describe('PinoLoggerService', () => {
  it.each([
    {
      name: 'a message with its context',
      call: (l: PinoLoggerService) => l.log('hub ready', 'Hub'),
      expected: { level: 30, name: 'flotilla-hub', context: 'Hub', msg: 'hub ready' },
    },
    {
      name: 'a warning keeps its line breaks inside one JSON line',
      call: (l: PinoLoggerService) => l.warn('a\n\n  b', 'Auth'),
      expected: { level: 40, context: 'Auth', msg: 'a\n\n  b' },
    },
    {
      name: "an error with Nest's stack argument",
      call: (l: PinoLoggerService) =>
        l.error('sync failed', 'Error: x\n    at f (a.js:1:1)', 'Resolver'),
      expected: {
        level: 50,
        context: 'Resolver',
        msg: 'sync failed',
        stack: 'Error: x\n    at f (a.js:1:1)',
      },
    },
    {
      name: 'an Error object',
      call: (l: PinoLoggerService) => l.error(new TypeError('boom'), 'Status'),
      expected: {
        level: 50,
        context: 'Status',
        msg: 'boom',
        err: expect.objectContaining({ type: 'TypeError', message: 'boom' }),
      },
    },
    {
      name: 'extra arguments are kept',
      call: (l: PinoLoggerService) => l.log('n', { a: 1 }, 'Ctx'),
      expected: { level: 30, context: 'Ctx', msg: 'n', args: [{ a: 1 }] },
    },
  ])('$name', ({ call, expected }) => {
    const { logger, lines } = capture(['log', 'warn', 'error']);
    call(logger);
    expect(lines).toEqual([expect.objectContaining(expected)]);
  });

  it('drops the levels that are not enabled', () => {
    const { logger, lines } = capture(['error']);
    logger.log('quiet', 'X');
    logger.debug('quiet', 'X');
    logger.error('loud', 'X');
    expect(lines.map((l) => l.msg)).toEqual(['loud']);
  });

  it.each([
    { format: undefined, tty: true, json: false },
    { format: undefined, tty: false, json: true },
    { format: 'json' as const, tty: true, json: true },
    { format: 'text' as const, tty: false, json: false },
  ])('FLOTILLA_LOG_FORMAT=$format on a TTY=$tty: JSON $json', ({ format, tty, json }) => {
    expect(useJsonLogs(format, tty)).toBe(json);
  });
});
