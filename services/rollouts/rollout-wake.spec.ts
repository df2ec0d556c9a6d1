import { describe, expect, it } from 'vitest';
import { nextRolloutWake } from './rollout-wake.js';

describe('nextRolloutWake', () => {
  const base = { now: 1_000, leaseMs: 10_000 };
  it.each([
    {
      name: 'the planning replica wakes at the planner wakeAt (bake time, deadline)',
      pass: { leased: true, running: true, wakeAt: 5_000 },
      expected: 5_000,
    },
    {
      name: 'a running rollout with nothing pending waits for events only',
      pass: { leased: true, running: true, wakeAt: null },
      expected: null,
    },
    {
      name: 'a finished rollout never wakes',
      pass: { leased: true, running: false, wakeAt: null },
      expected: null,
    },
    {
      name: 'a replica refused the lease rechecks when it would lapse',
      pass: { leased: false, running: true, wakeAt: null },
      expected: 11_000,
    },
    {
      name: 'a replica refused the lease of a bundle without a running rollout rechecks when it would lapse (the delivery it was asked for is not dropped)',
      pass: { leased: false, running: false, wakeAt: null },
      expected: 11_000,
    },
  ])('$name', ({ pass, expected }) => {
    expect(nextRolloutWake({ ...base, ...pass })).toBe(expected);
  });
});
