import { describe, expect, it } from 'vitest';
import { SummaryCache } from './summary-cache.js';

/** A computation the test finishes by hand, counting its calls. */
function controlled() {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  let calls = 0;
  return {
    compute: () =>
      new Promise<number>((resolve, reject) => {
        calls++;
        pending.push({ resolve, reject });
      }),
    finish(value: number) {
      pending.shift()!.resolve(value);
    },
    fail(message: string) {
      pending.shift()!.reject(new Error(message));
    },
    get calls() {
      return calls;
    },
    get waiting() {
      return pending.length;
    },
  };
}

/** Lets settled promises run their callbacks. */
const settle = () => new Promise((r) => setImmediate(r));

describe('SummaryCache', () => {
  it('makes the first callers wait for one computation, and shares it', async () => {
    let t = 1_000;
    const c = controlled();
    const cache = new SummaryCache(c.compute, { maxAgeMs: 1000, now: () => t });
    const a = cache.get();
    const b = cache.get();
    expect(c.calls).toBe(1);
    t = 1_200;
    c.finish(7);
    expect(await a).toEqual({ value: 7, computedAt: 1_000 });
    expect(await b).toEqual({ value: 7, computedAt: 1_000 });
  });

  it.each([
    { what: 'younger than maxAge: served, nothing computed', age: 999, computes: 1 },
    { what: 'exactly maxAge old: served, one refresh started', age: 1000, computes: 2 },
    { what: 'much older: served, one refresh started', age: 60_000, computes: 2 },
  ])('a result $what', async ({ age, computes }) => {
    let t = 0;
    const c = controlled();
    const cache = new SummaryCache(c.compute, { maxAgeMs: 1000, now: () => t });
    const first = cache.get();
    c.finish(1);
    await first;
    t = age;
    // Many callers at once: each gets the last result without waiting.
    const got = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(got.map((g) => g.value)).toEqual([1, 1, 1]);
    expect(c.calls).toBe(computes);
    expect(cache.computations).toBe(computes);
  });

  it('serves the last result while a refresh is in flight, then the new one', async () => {
    let t = 0;
    const c = controlled();
    const cache = new SummaryCache(c.compute, { maxAgeMs: 1000, now: () => t });
    const first = cache.get();
    c.finish(1);
    await first;
    t = 1_500;
    expect((await cache.get()).value).toBe(1); // starts the refresh
    t = 3_000; // the refresh is slow: still one in flight, however old the result
    expect((await cache.get()).value).toBe(1);
    expect((await cache.get()).value).toBe(1);
    expect(c.calls).toBe(2);
    c.finish(2);
    await settle();
    // computedAt is when the refresh started: its counts are that fresh.
    expect(await cache.get()).toEqual({ value: 2, computedAt: 1_500 });
    // 1,500 ms old already: the next call starts the next refresh.
    expect(c.calls).toBe(3);
  });

  it('keeps the last result when a refresh fails, and tries again on a later call', async () => {
    let t = 0;
    const c = controlled();
    const cache = new SummaryCache(c.compute, { maxAgeMs: 1000, now: () => t });
    const first = cache.get();
    c.finish(1);
    await first;
    t = 1_000;
    await cache.get();
    c.fail('database down');
    await settle();
    expect(await cache.get()).toEqual({ value: 1, computedAt: 0 });
    expect(c.calls).toBe(3);
    c.finish(3);
    await settle();
    expect(await cache.get()).toEqual({ value: 3, computedAt: 1_000 });
  });

  it('gives the error to callers that have no result yet, and computes again for the next', async () => {
    const t = 0;
    const c = controlled();
    const cache = new SummaryCache(c.compute, { maxAgeMs: 1000, now: () => t });
    const first = cache.get();
    c.fail('database down');
    await expect(first).rejects.toThrow('database down');
    const second = cache.get();
    expect(c.waiting).toBe(1);
    c.finish(5);
    expect((await second).value).toBe(5);
  });
});

describe('SummaryCache.fresh', () => {
  /** A clock whose sleep moves time ahead at once, noting each wait. */
  function sleepyClock(start: number) {
    const clock = {
      t: start,
      waits: [] as number[],
      now: () => clock.t,
      sleep: (ms: number) => {
        clock.waits.push(ms);
        clock.t += ms;
        return Promise.resolve();
      },
    };
    return clock;
  }

  it.each([
    {
      what: 'the last result is new enough: no computation',
      since: 0,
      at: 100,
      computes: 1,
      waits: [],
    },
    {
      what: 'older, and maxAge since the last one started: computes at once',
      since: 50,
      at: 1_000,
      computes: 2,
      waits: [],
    },
    {
      what: 'older, and too soon after the last one: waits out maxAge, then computes',
      since: 50,
      at: 300,
      computes: 2,
      waits: [700],
    },
  ])('$what', async ({ since, at, computes, waits }) => {
    const clock = sleepyClock(0);
    let n = 0;
    const cache = new SummaryCache(() => Promise.resolve(++n), { maxAgeMs: 1000, ...clock });
    await cache.get();
    clock.t = at;
    const got = await cache.fresh(since);
    expect(got.computedAt).toBeGreaterThanOrEqual(since);
    expect(n).toBe(computes);
    expect(clock.waits).toEqual(waits);
  });

  it('shares a computation in flight that started late enough, and waits out one that did not', async () => {
    const clock = sleepyClock(0);
    const c = controlled();
    const cache = new SummaryCache(c.compute, { maxAgeMs: 1000, ...clock });
    const first = cache.get(); // started at 0
    clock.t = 10;
    const early = cache.fresh(0); // the one in flight will do
    const late = cache.fresh(10); // needs one started at 10 or later
    c.finish(1);
    expect((await early).value).toBe(1);
    await first;
    await settle();
    // The second computation waited until maxAge after the first had started.
    expect(clock.waits).toEqual([990]);
    expect(c.calls).toBe(2);
    c.finish(2);
    expect(await late).toEqual({ value: 2, computedAt: 1_000 });
  });
});

describe('SummaryCache.offer', () => {
  it.each([
    { what: 'no result yet: taken, nothing computed', first: false, offeredAt: 500, value: 9 },
    { what: 'newer than the last: taken', first: true, offeredAt: 500, value: 9 },
    { what: 'older than the last: ignored', first: true, offeredAt: -1, value: 1 },
  ])('an offered result, $what', async ({ first, offeredAt, value }) => {
    const t = 600;
    let n = 0;
    const cache = new SummaryCache(() => Promise.resolve(++n), { maxAgeMs: 1000, now: () => t });
    if (first) {
      // Computed at 0 (now is 600 but the clock is read once per computation).
      const early = new SummaryCache(() => Promise.resolve(1), { maxAgeMs: 1000, now: () => 0 });
      const got = await early.get();
      cache.offer(got.value, got.computedAt);
    }
    cache.offer(9, offeredAt);
    expect((await cache.get()).value).toBe(value);
    expect(n).toBe(0);
  });
});
