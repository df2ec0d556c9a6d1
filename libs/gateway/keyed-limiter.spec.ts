import { describe, expect, it } from 'vitest';
import { KeyedLimiter, LimiterFullError } from './keyed-limiter.js';

/** A task that runs until released. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('KeyedLimiter', () => {
  it('runs at most `concurrency` tasks of a key, queues up to `queue`, refuses the rest', async () => {
    const limiter = new KeyedLimiter(2, 1);
    const gates = [gate(), gate(), gate()];
    let running = 0;
    let most = 0;
    const task = (g: { promise: Promise<void> }) => async () => {
      running++;
      most = Math.max(most, running);
      await g.promise;
      running--;
    };
    const runs = gates.map((g) => limiter.run('a', task(g)));
    await expect(limiter.run('a', () => Promise.resolve())).rejects.toBeInstanceOf(
      LimiterFullError,
    );
    expect(limiter.full('a')).toBe(true);
    // Another key is not held up by a's full slots.
    await expect(limiter.run('b', () => Promise.resolve('b done'))).resolves.toBe('b done');
    expect(running).toBe(2);
    gates[0]!.release();
    await runs[0];
    gates[1]!.release();
    gates[2]!.release();
    await Promise.all(runs);
    expect(most).toBe(2);
    expect(limiter.full('a')).toBe(false);
  });

  it('a slot handed to a waiting task is not taken by a newcomer', async () => {
    const limiter = new KeyedLimiter(1, 5);
    const first = gate();
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await Promise.resolve();
      running--;
    };
    const a = limiter.run('k', async () => {
      await first.promise;
    });
    const b = limiter.run('k', task);
    first.release();
    await a;
    const c = limiter.run('k', task);
    await Promise.all([b, c]);
    expect(most).toBe(1);
  });

  it('a failing task frees its slot', async () => {
    const limiter = new KeyedLimiter(1, 0);
    await expect(limiter.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run('k', () => Promise.resolve(1))).resolves.toBe(1);
  });
});
