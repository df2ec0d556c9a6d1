import { describe, expect, it } from 'vitest';
import { LeaseTimers, type TimerClock, leaseExpiry } from './lease.js';

/** A clock whose time only moves when the test says so. */
class FakeClock implements TimerClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now = () => this.t;
  /** How much earlier than asked timers fire (Node's may, by a millisecond). */
  early = 0;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.t + Math.max(0, ms - this.early), fn, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  async advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((t) => t.at <= this.t);
    this.timers = this.timers.filter((t) => t.at > this.t);
    for (const t of due) t.fn();
    await Promise.resolve();
  }
}

describe('leaseExpiry', () => {
  it.each([
    {
      name: 'three intervals after the heartbeat by default',
      interval: 5000,
      intervals: undefined,
      expected: 15_000,
    },
    { name: 'a custom number of intervals', interval: 100, intervals: 2, expected: 200 },
  ])('expires $name', ({ interval, intervals, expected }) => {
    expect(leaseExpiry(new Date(0), interval, intervals).getTime()).toBe(expected);
  });
});

describe('LeaseTimers', () => {
  const setup = () => {
    const clock = new FakeClock();
    const expired: string[][] = [];
    const timers = new LeaseTimers((names) => expired.push(names), clock);
    return { clock, expired, timers };
  };

  it.each([
    { name: 'fires exactly at the expiry time, not before', steps: [999, 1], fireAfterStep: 1 },
    { name: 'fires at once for a lease already expired', steps: [0], fireAfterStep: 0, at: -5 },
  ])('$name', async ({ steps, fireAfterStep, at = 1000 }) => {
    const { clock, expired, timers } = setup();
    timers.schedule('a', new Date(at));
    for (const [i, step] of steps.entries()) {
      await clock.advance(step);
      expect(expired.length).toBe(i >= fireAfterStep ? 1 : 0);
    }
  });

  it('a renewed lease moves its timer instead of adding one', async () => {
    const { clock, expired, timers } = setup();
    timers.schedule('a', new Date(1000));
    await clock.advance(500);
    timers.schedule('a', new Date(1500));
    await clock.advance(600);
    expect(expired).toEqual([]);
    expect(timers.size).toBe(1);
    await clock.advance(400);
    expect(expired).toEqual([['a']]);
    expect(timers.size).toBe(0);
  });

  it('leases due together are reported in one batch', async () => {
    const { clock, expired, timers } = setup();
    for (const n of ['a', 'b', 'c']) timers.schedule(n, new Date(100));
    timers.schedule('d', new Date(200));
    await clock.advance(100);
    expect(expired).toEqual([['a', 'b', 'c']]);
  });

  it('a cancelled lease never fires', async () => {
    const { clock, expired, timers } = setup();
    timers.schedule('a', new Date(100));
    timers.cancel('a');
    await clock.advance(1000);
    expect(expired).toEqual([]);
  });

  it('a timer that fires before the expiry time waits out the rest instead of firing early', async () => {
    const { clock, expired, timers } = setup();
    clock.early = 1;
    timers.schedule('a', new Date(1000));
    await clock.advance(999);
    expect(expired).toEqual([]);
    expect(timers.size).toBe(1);
    await clock.advance(1);
    expect(expired).toEqual([['a']]);
    expect(timers.size).toBe(0);
  });
});
