import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';

const pinoLevel: Record<LogLevel, 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal'> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
};

/**
 * Nest's logger as JSON lines through pino, like the agent's: `{level, time, name, context,
 * msg}`, plus `err` (message and stack) for errors. Nest passes the logging class's name as the
 * last argument (the context) and an error's stack before it; other arguments become `args`.
 */
export class PinoLoggerService implements LoggerService {
  private readonly logger: Pino;
  private readonly enabled: Set<LogLevel>;

  constructor(levels: readonly LogLevel[] | false, destination?: DestinationStream) {
    this.enabled = new Set(levels === false ? [] : levels);
    this.logger = pino(
      { name: 'flotilla-hub', level: 'trace', base: { pid: process.pid } },
      // Through process.stdout (synchronous for files and pipes on Linux), so what captures or
      // redirects the process's output sees the hub's lines too.
      destination ?? process.stdout,
    );
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
  setLogLevels(levels: LogLevel[]): void {
    this.enabled.clear();
    for (const l of levels) this.enabled.add(l);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.enabled.has(level)) return;
    const args = [...rest];
    const fields: Record<string, unknown> = {};
    if (args.length > 0 && typeof args[args.length - 1] === 'string') {
      fields.context = args.pop();
    }
    if ((level === 'error' || level === 'fatal') && args.length > 0) {
      const stack = args[0];
      if (typeof stack === 'string' && stack.includes('\n    at ')) {
        fields.stack = stack;
        args.shift();
      } else if (stack === undefined) {
        args.shift();
      }
    }
    if (args.length > 0) fields.args = args;
    let msg: string;
    if (message instanceof Error) {
      fields.err = message; // pino's serializer: {type, message, stack}
      msg = message.message;
    } else if (typeof message === 'string') {
      msg = message;
    } else {
      fields.data = message;
      msg = '';
    }
    this.logger[pinoLevel[level]](fields, msg);
  }
}

/**
 * Whether the hub logs JSON: FLOTILLA_LOG_FORMAT when set, else JSON unless standard output is
 * a terminal.
 */
export function useJsonLogs(format: 'json' | 'text' | undefined, stdoutIsTty: boolean): boolean {
  return format === undefined ? !stdoutIsTty : format === 'json';
}
