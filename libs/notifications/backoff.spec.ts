import { describe, expect, it } from 'vitest';
import { afterFailure, retryDelayMs } from './backoff.js';

const policy = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 5 };

describe('retryDelayMs', () => {
  it.each([
    ['the first retry waits between half the base and the base', 1, 0, 500],
    ['… at most the base', 1, 0.999999, 1_000],
    ['each attempt doubles the delay', 3, 0, 2_000],
    ['… up to 4x the base on the third', 3, 0.999999, 4_000],
    ['the delay is capped at maxMs', 20, 0.999999, 60_000],
    ['the cap keeps its jitter', 20, 0, 30_000],
  ])('%s', (_name, attempt, random, expected) => {
    expect(retryDelayMs(attempt, policy, () => random)).toBe(expected);
  });
});

describe('afterFailure', () => {
  it.each([
    ['retries before the last attempt', 4, { retryInMs: 4_000 }],
    ['dead-letters after the last attempt', 5, { deadLetter: true }],
  ])('%s', (_name, attempt, expected) => {
    expect(afterFailure(attempt, policy, () => 0)).toEqual(expected);
  });
});
