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
