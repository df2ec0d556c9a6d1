import { describe, expect, it } from 'vitest';
import { LeaseRenewals, type Renewal } from './renewals.js';

/** A heartbeat of `name` at `t` granting a lease of 3000 ms (interval 1000 ms). */
const beat = (name: string, t: number, versions = ['1.0', 'v1.31']): Renewal => ({
  name,
  leaseMs: t + 3000,
  agentVersion: versions[0]!,
  kubernetesVersion: versions[1]!,
});

type Step =
  /** A heartbeat at t: expect it written now (true) or held (false). */
  | { at: number; beat: Renewal; write: boolean }
  /** The records written (after a successful write). */
  | { wrote: Renewal[] }
  /** What is due at t (leases of the held heartbeats taken). */
  | { due: number; taken: number[] }
  | { forget: string[] };

function run(steps: Step[]): void {
  const renewals = new LeaseRenewals<Renewal>(1000);
  for (const [i, step] of steps.entries()) {
    if ('beat' in step) expect(renewals.offer(step.beat, step.at), `step ${i}`).toBe(step.write);
    else if ('wrote' in step) renewals.wrote(step.wrote);
    else if ('due' in step)
      expect(
        renewals.takeDue(step.due).map((r) => r.leaseMs),
        `step ${i}`,
      ).toEqual(step.taken);
    else renewals.forget(step.forget);
  }
}

describe('LeaseRenewals', () => {
  const cases: { name: string; steps: Step[] }[] = [
    {
      name: 'a first heartbeat (nothing stored) is written',
      steps: [{ at: 0, beat: beat('a', 0), write: true }],
    },
    {
      name: 'one that is not stored yet (write in flight) is written too',
      steps: [
        { at: 0, beat: beat('a', 0), write: true },
        { at: 100, beat: beat('a', 100), write: true },
      ],
    },
    {
      name: 'a renewal of a long stored lease is held, and taken when the stored lease has the margin left',
      steps: [
        { at: 0, beat: beat('a', 0), write: true },
        { wrote: [beat('a', 0)] },
        { at: 1000, beat: beat('a', 1000), write: false },
        { due: 1999, taken: [] },
        { due: 2000, taken: [4000] },
        { due: 5000, taken: [] },
      ],
    },
    {
      name: 'a newer held heartbeat replaces the older: the newest is written',
      steps: [
        { wrote: [beat('a', 0)] },
        { at: 500, beat: beat('a', 500), write: false },
        { at: 1500, beat: beat('a', 1500), write: false },
        { due: 2000, taken: [4500] },
      ],
    },
    {
      name: 'with the margin or less left, a heartbeat is written at once (and nothing stays held)',
      steps: [
        { wrote: [beat('a', 0)] },
        { at: 1000, beat: beat('a', 1000), write: false },
        { at: 2000, beat: beat('a', 2000), write: true },
        { due: 2000, taken: [] },
      ],
    },
    {
      name: 'every other heartbeat is written when agents heartbeat once an interval',
      steps: [
        { wrote: [beat('a', 0)] },
        { at: 1000, beat: beat('a', 1000), write: false },
        { at: 2000, beat: beat('a', 2000), write: true },
        { due: 2000, taken: [] },
        { wrote: [beat('a', 2000)] },
        { at: 3000, beat: beat('a', 3000), write: false },
        { at: 4000, beat: beat('a', 4000), write: true },
        { due: 4000, taken: [] },
      ],
    },
    {
      name: 'changed versions are written at once',
      steps: [
        { wrote: [beat('a', 0)] },
        { at: 1000, beat: beat('a', 1000, ['1.1', 'v1.31']), write: true },
        { at: 1000, beat: beat('a', 1000, ['1.0', 'v1.32']), write: true },
        { due: 5000, taken: [] },
      ],
    },
    {
      name: 'a heartbeat granting less than the stored lease (clock stepped back) is written',
      steps: [{ wrote: [beat('a', 5000)] }, { at: 1000, beat: beat('a', 1000), write: true }],
    },
    {
      name: 'a later store of a cluster replaces its due time',
      steps: [
        { wrote: [beat('a', 0)] },
        { wrote: [beat('a', 1000)] },
        { at: 1500, beat: beat('a', 1500), write: false },
        { due: 2000, taken: [] },
        { due: 3000, taken: [4500] },
      ],
    },
    {
      name: 'an older store after a newer one changes nothing',
      steps: [
        { wrote: [beat('a', 1000)] },
        { wrote: [beat('a', 0)] },
        { at: 1500, beat: beat('a', 1500), write: false },
        { due: 2000, taken: [] },
        { due: 3000, taken: [4500] },
      ],
    },
    {
      name: 'clusters are due in the order their leases were stored',
      steps: [
        { wrote: [beat('a', 0), beat('b', 100)] },
        { wrote: [beat('c', 200)] },
        { at: 1000, beat: beat('c', 1000), write: false },
        { at: 1000, beat: beat('a', 1000), write: false },
        { at: 1000, beat: beat('b', 1000), write: false },
        { due: 2100, taken: [4000, 4000] },
        { due: 2200, taken: [4000] },
      ],
    },
    {
      name: 'a forgotten cluster drops its held heartbeat, and its next one is written',
      steps: [
        { wrote: [beat('a', 0)] },
        { at: 1000, beat: beat('a', 1000), write: false },
        { forget: ['a', 'b'] },
        { due: 2000, taken: [] },
        { at: 1100, beat: beat('a', 1100), write: true },
        { due: 5000, taken: [] },
      ],
    },
  ];
  it.each(cases)('$name', ({ steps }) => run(steps));

  it('holds nothing for long however many stores come and go (the due queue is compacted)', () => {
    const renewals = new LeaseRenewals<Renewal>(1000);
    for (let t = 0; t < 100_000; t += 10) {
      renewals.wrote([beat(`c${t % 500}`, t)]);
      renewals.offer(beat(`c${(t + 10) % 500}`, t), t);
      renewals.takeDue(t);
    }
    expect(renewals.heldCount).toBeLessThanOrEqual(500);
    expect(renewals.pendingDue).toBeLessThanOrEqual(2 * 1024 + 500);
  });
});
