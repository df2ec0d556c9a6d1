import { describe, expect, it } from 'vitest';
import { OncePer, TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it.each([
    ['the burst passes at once', { burst: 3, perSecond: 1 }, [0, 0, 0], [true, true, true]],
    ['beyond the burst is refused', { burst: 2, perSecond: 1 }, [0, 0, 0], [true, true, false]],
    [
      'a token comes back after 1/rate seconds',
      { burst: 1, perSecond: 2 },
      [0, 400, 500],
      [true, false, true],
    ],
    [
      'a refused request costs nothing',
      { burst: 1, perSecond: 1 },
      [0, 10, 20, 1000],
      [true, false, false, true],
    ],
    [
      'a quiet time refills up to the burst, not more',
      { burst: 2, perSecond: 1 },
      [0, 60_000, 60_000, 60_000],
      [true, true, true, false],
    ],
    [
      'a clock going backwards adds nothing',
      { burst: 1, perSecond: 1 },
      [5000, 0, 4000],
      [true, false, false],
    ],
  ])('%s', (_name, rate, times, expected) => {
    const buckets = new TokenBuckets(rate);
    expect(times.map((t) => buckets.take('a', t))).toEqual(expected);
  });

  it('keys have buckets of their own: one exhausted key does not slow another', () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 1 });
    expect([buckets.take('a', 0), buckets.take('a', 0), buckets.take('b', 0)]).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('refuses a bucket that could never pass a request', () => {
    expect(() => new TokenBuckets({ burst: 0, perSecond: 1 })).toThrow(/burst/);
  });
});

describe('OncePer', () => {
  it.each([
    ['the first call of a key is allowed', [['a', 0]], [[true, 0]]],
    [
      'calls within the period are suppressed and counted; the next one after it says how many',
      [
        ['a', 0],
        ['a', 10],
        ['a', 59_999],
        ['a', 60_000],
      ],
      [
        [true, 0],
        [false, 1],
        [false, 2],
        [true, 2],
      ],
    ],
    [
      'keys are independent',
      [
        ['a', 0],
        ['b', 1],
        ['a', 2],
      ],
      [
        [true, 0],
        [true, 0],
        [false, 1],
      ],
    ],
  ] as [string, [string, number][], [boolean, number][]][])('%s', (_name, calls, expected) => {
    const once = new OncePer(60_000);
    expect(
      calls.map(([key, at]) => {
        const r = once.allow(key, at);
        return [r.allowed, r.suppressed];
      }),
    ).toEqual(expected);
  });
});
