import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { MAX_TIMER_MS, WakeTimers } from './wake.js';

type Step =
  | { schedule: string; at: number | null }
  | { cancel: string }
  | { advance: number }
  | { stop: true };

describe('WakeTimers', () => {
  it.each<{ name: string; early?: number; steps: Step[]; woken: [number, string][] }>([
    {
      name: 'wakes a key at the time asked, not before',
      steps: [{ schedule: 'a', at: 5000 }, { advance: 4999 }, { advance: 1 }],
      woken: [[5000, 'a']],
    },
    {
      name: 'wakes each key at its own time, in time order',
      steps: [{ schedule: 'late', at: 3000 }, { schedule: 'soon', at: 1000 }, { advance: 10_000 }],
      woken: [
        [1000, 'soon'],
        [3000, 'late'],
      ],
    },
    {
      name: 'asking again replaces the earlier wake-up (the latest plan knows best)',
      steps: [{ schedule: 'a', at: 1000 }, { schedule: 'a', at: 4000 }, { advance: 10_000 }],
      woken: [[4000, 'a']],
    },
    {
      name: 'an earlier wake-up replaces a later one',
      steps: [{ schedule: 'a', at: 4000 }, { schedule: 'a', at: 1000 }, { advance: 10_000 }],
      woken: [[1000, 'a']],
    },
    {
      name: 'null cancels the wake-up (nothing pending in the plan)',
      steps: [{ schedule: 'a', at: 1000 }, { schedule: 'a', at: null }, { advance: 10_000 }],
      woken: [],
    },
    {
      name: 'cancel forgets one key and leaves the others',
      steps: [
        { schedule: 'a', at: 1000 },
        { schedule: 'b', at: 2000 },
        { cancel: 'a' },
        { advance: 10_000 },
      ],
      woken: [[2000, 'b']],
    },
    {
      name: 'a time already past wakes at once',
      steps: [{ advance: 5000 }, { schedule: 'a', at: 1000 }, { advance: 0 }],
      woken: [[5000, 'a']],
    },
    {
      name: 'a timer that fires early is re-armed until the time has come',
      early: 1,
      steps: [{ schedule: 'a', at: 1000 }, { advance: 999 }, { advance: 1 }],
      woken: [[1000, 'a']],
    },
    {
      name: 'a wake-up further away than one timer can wait (a 30-day bake) is reached in steps',
      steps: [
        { schedule: 'a', at: 30 * 86_400_000 },
        { advance: MAX_TIMER_MS },
        { advance: 30 * 86_400_000 - MAX_TIMER_MS - 1 },
        { advance: 1 },
      ],
      woken: [[30 * 86_400_000, 'a']],
    },
    {
      name: 'a key wakes once per schedule, never again on its own (no polling)',
      steps: [{ schedule: 'a', at: 1000 }, { advance: 100_000 }],
      woken: [[1000, 'a']],
    },
    {
      name: 'after stop nothing wakes and nothing can be scheduled',
      steps: [
        { schedule: 'a', at: 1000 },
        { stop: true },
        { schedule: 'b', at: 2000 },
        { advance: 10_000 },
      ],
      woken: [],
    },
  ])('$name', async ({ early, steps, woken }) => {
    const clock = new FakeClock();
    clock.early = early ?? 0;
    const seen: [number, string][] = [];
    const timers = new WakeTimers((key) => seen.push([clock.now(), key]), clock);
    for (const step of steps) {
      if ('schedule' in step) timers.schedule(step.schedule, step.at);
      else if ('cancel' in step) timers.cancel(step.cancel);
      else if ('stop' in step) timers.stop();
      else await clock.advance(step.advance);
    }
    expect(seen).toEqual(woken);
    expect(timers.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('reports when a key wakes next', () => {
    const timers = new WakeTimers(() => undefined, new FakeClock());
    timers.schedule('a', 1000);
    expect(timers.next('a')).toBe(1000);
    expect(timers.next('b')).toBeUndefined();
  });
});
