import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isConsumerNotFound, isStreamNotFound } from './streams.js';

const apiError = (err_code: number, description: string) =>
  new JetStreamApiError({ code: 404, err_code, description });

describe('which JetStream failures mean "does not exist"', () => {
  const cases: { name: string; err: unknown; stream: boolean; consumer: boolean }[] = [
    {
      name: 'stream not found (10059)',
      err: apiError(10059, 'stream not found'),
      stream: true,
      consumer: false,
    },
    {
      name: 'consumer not found (10014)',
      err: apiError(10014, 'consumer not found'),
      stream: false,
      consumer: true,
    },
    { name: 'a request timeout', err: new errors.TimeoutError(), stream: false, consumer: false },
    {
      name: 'another API error',
      err: apiError(10039, 'jetstream not enabled'),
      stream: false,
      consumer: false,
    },
    {
      name: 'a plain error saying "not found"',
      err: new Error('stream not found'),
      stream: false,
      consumer: false,
    },
    { name: 'no error object at all', err: 'timeout', stream: false, consumer: false },
  ];
  it.each(cases)('$name', ({ err, stream, consumer }) => {
    expect(isStreamNotFound(err)).toBe(stream);
    expect(isConsumerNotFound(err)).toBe(consumer);
  });
});
