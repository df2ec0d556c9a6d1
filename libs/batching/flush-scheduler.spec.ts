import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FlushScheduler } from './flush-scheduler.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FlushScheduler', () => {
  it.each([
    {
      name: 'many requests within the delay cause one flush',
      requests: [false, false, false],
      advance: 50,
      flushes: 1,
    },
    { name: 'nothing flushes before the delay', requests: [false], advance: 49, flushes: 0 },
    { name: 'a full buffer flushes at once', requests: [true], advance: 0, flushes: 1 },
    {
      name: 'a full buffer overrides a pending delayed flush',
      requests: [false, true],
      advance: 0,
      flushes: 1,
    },
  ])('$name', async ({ requests, advance, flushes }) => {
    const flush = vi.fn(() => Promise.resolve());
    const s = new FlushScheduler(flush, 50);
    for (const now of requests) s.request(now);
    await vi.advanceTimersByTimeAsync(advance);
    expect(flush).toHaveBeenCalledTimes(flushes);
  });

  it('flushes never overlap: the next waits for the one in progress', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const s = new FlushScheduler(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 100));
      inFlight -= 1;
    }, 10);
    s.request(true);
    await vi.advanceTimersByTimeAsync(1);
    s.request(true);
    await vi.advanceTimersByTimeAsync(300);
    expect(maxInFlight).toBe(1);
  });

  it('requests during a flush queue one flush behind it, however many there are', async () => {
    let release: () => void = () => undefined;
    const flush = vi.fn(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const s = new FlushScheduler(flush, 50);
    s.request(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledTimes(1);
    // The buffer fills again and again while the first flush writes.
    for (let i = 0; i < 5; i++) {
      s.request(true);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(flush).toHaveBeenCalledTimes(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledTimes(2);
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(flush).toHaveBeenCalledTimes(2);
    // Once the queued flush has started, a new request gets a flush of its own.
    s.request(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledTimes(3);
    release();
  });

  it('a shorter retry replaces a later pending flush, a longer one does not delay it', async () => {
    const flush = vi.fn(() => Promise.resolve());
    const s = new FlushScheduler(flush, 50);
    s.retry(1000);
    s.request();
    await vi.advanceTimersByTimeAsync(50);
    expect(flush).toHaveBeenCalledTimes(1);
    s.request();
    s.retry(1000);
    await vi.advanceTimersByTimeAsync(50);
    expect(flush).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(flush).toHaveBeenCalledTimes(2);
  });

  it('a retry runs after its delay, and nothing runs after stop', async () => {
    const flush = vi.fn(() => Promise.resolve());
    const s = new FlushScheduler(flush, 50);
    s.retry(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(flush).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledTimes(1);
    s.request();
    await s.stop();
    await vi.advanceTimersByTimeAsync(100);
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('a failing flush does not stop later ones', async () => {
    const flush = vi.fn().mockRejectedValueOnce(new Error('db down')).mockResolvedValue(undefined);
    const s = new FlushScheduler(flush, 10);
    s.request(true);
    await vi.advanceTimersByTimeAsync(1);
    s.request(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledTimes(2);
  });
});
