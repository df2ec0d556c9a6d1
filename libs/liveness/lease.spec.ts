import { describe, expect, it } from 'vitest';
import { FakeClock as OrderedFakeClock } from '../testing/fake-clock.js';
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

describe('LeaseTimers, one timer for every lease', () => {
  it('renewing leases arms no further timer: one is armed however many leases there are', async () => {
    const clock = new OrderedFakeClock();
    const expired: string[][] = [];
    const timers = new LeaseTimers((names) => expired.push(names), clock);
    // 1,000 clusters heartbeating every 10 ms, each with a lease of three heartbeats.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 1000; i++) timers.schedule(`c${i}`, new Date(clock.now() + 30));
      expect(clock.pending).toBe(1);
      await clock.advance(10);
    }
    expect(expired).toEqual([]);
    expect(timers.size).toBe(1000);
    await clock.advance(30);
    expect(expired.flat().length).toBe(1000);
    expect(timers.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('an earlier lease than the armed timer re-arms it earlier', async () => {
    const clock = new OrderedFakeClock();
    const expired: [number, string[]][] = [];
    const timers = new LeaseTimers((names) => expired.push([clock.now(), names]), clock);
    timers.schedule('late', new Date(1000));
    timers.schedule('early', new Date(100));
    expect(clock.pending).toBe(1);
    await clock.advance(2000);
    expect(expired).toEqual([
      [100, ['early']],
      [1000, ['late']],
    ]);
  });

  // A deterministic pseudo-random sequence (no seed from the clock: the test is repeatable).
  const random = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  it.each([1, 2, 3, 4, 5])(
    'fires every lease at its time, as a plain list of expiries would (sequence %i)',
    async (seed) => {
      const rnd = random(seed);
      const clock = new OrderedFakeClock();
      const fired: string[] = [];
      const timers = new LeaseTimers(
        (names) => fired.push(...names.map((n) => `${n}@${clock.now()}`)),
        clock,
      );
      // The model: name → expiry; what fires at t is every lease at or before t, by time then
      // by when it was last scheduled.
      const model = new Map<string, { at: number; seq: number }>();
      const expected: string[] = [];
      let seq = 0;
      for (let step = 0; step < 400; step++) {
        const name = `c${Math.floor(rnd() * 30)}`;
        const action = rnd();
        if (action < 0.8) {
          const at = clock.now() + Math.floor(rnd() * 50) - 5;
          timers.schedule(name, new Date(at));
          if (model.get(name)?.at !== at) model.set(name, { at, seq: seq++ });
        } else {
          timers.cancel(name);
          model.delete(name);
        }
        const ms = Math.floor(rnd() * 8);
        const end = clock.now() + ms;
        // Every instant a lease is due in (now, end], in order, then `end` itself.
        for (;;) {
          const due = [...model].filter(([, l]) => l.at <= end);
          if (due.length === 0) break;
          const t = Math.max(clock.now(), Math.min(...due.map(([, l]) => l.at)));
          const now = due
            .filter(([, l]) => Math.max(clock.now(), l.at) === t)
            .sort(([, a], [, b]) => a.at - b.at || a.seq - b.seq);
          for (const [n] of now) {
            expected.push(`${n}@${t}`);
            model.delete(n);
          }
          await clock.advance(t - clock.now());
        }
        await clock.advance(end - clock.now());
        expect(fired).toEqual(expected);
        expect(timers.size).toBe(model.size);
      }
    },
  );
});
