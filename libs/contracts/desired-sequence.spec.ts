import { describe, expect, it } from 'vitest';
import { DesiredSequence, envelopeProblem } from './desired-sequence.js';

type Step =
  | { sync: number; bundles: string[]; expect: boolean[] | undefined }
  | { desired: number; bundles: string[]; expect: boolean[] };

describe('DesiredSequence', () => {
  it.each<[string, Step[]]>([
    [
      'after a sync, newer desired states apply',
      [
        { sync: 10, bundles: [], expect: [] },
        { desired: 11, bundles: ['web'], expect: [true] },
        { desired: 12, bundles: ['web'], expect: [true] },
      ],
    ],
    [
      'a captured v2 message published again after v3 is refused (no roll back)',
      [
        { sync: 1, bundles: [], expect: [] },
        { desired: 2, bundles: ['web'], expect: [true] },
        { desired: 3, bundles: ['web'], expect: [true] },
        { desired: 2, bundles: ['web'], expect: [false] },
      ],
    ],
    [
      'the same message twice applies once',
      [
        { sync: 1, bundles: [], expect: [] },
        { desired: 5, bundles: ['web'], expect: [true] },
        { desired: 5, bundles: ['web'], expect: [false] },
      ],
    ],
    [
      "an older message is still applied for a bundle no newer message changed (replicas' messages cross)",
      [
        { sync: 1, bundles: [], expect: [] },
        { desired: 7, bundles: ['web'], expect: [true] },
        { desired: 6, bundles: ['db'], expect: [true] },
      ],
    ],
    [
      'anything numbered at or below the last sync reply is refused: the reply held it',
      [
        { sync: 10, bundles: ['web'], expect: [true] },
        { desired: 9, bundles: ['db'], expect: [false] },
        { desired: 10, bundles: ['db'], expect: [false] },
      ],
    ],
    [
      'a sync reply does not undo a newer desired state of a bundle',
      [
        { sync: 1, bundles: [], expect: [] },
        { desired: 12, bundles: ['web'], expect: [true] },
        { sync: 11, bundles: ['web', 'db'], expect: [false, true] },
        { desired: 12, bundles: ['web'], expect: [false] },
      ],
    ],
    [
      'a sync reply not newer than the last one is refused whole',
      [
        { sync: 8, bundles: [], expect: [] },
        { sync: 8, bundles: ['web'], expect: undefined },
        { sync: 3, bundles: ['web'], expect: undefined },
        { sync: 9, bundles: ['web'], expect: [true] },
      ],
    ],
    [
      'several changes of one bundle in one message all apply, in order',
      [
        { sync: 1, bundles: [], expect: [] },
        { desired: 4, bundles: ['web', 'db', 'web'], expect: [true, true, true] },
      ],
    ],
    [
      'a restarted agent (nothing remembered) takes the hub’s current numbers',
      [{ sync: 500, bundles: ['web'], expect: [true] }],
    ],
  ])('%s', (_name, steps) => {
    const seq = new DesiredSequence();
    for (const step of steps) {
      const got =
        'sync' in step
          ? seq.acceptSync(step.sync, step.bundles)
          : seq.acceptDesired(step.desired, step.bundles);
      expect(got).toEqual(step.expect);
    }
  });

  it('has no floor before its first sync reply', () => {
    const seq = new DesiredSequence();
    expect(seq.hasSynced).toBe(false);
    seq.acceptSync(3, []);
    expect(seq.hasSynced).toBe(true);
  });
});

describe('envelopeProblem', () => {
  it.each([
    ['a payload for this cluster', 'a', undefined],
    ['a payload for another cluster', 'b', 'the payload is for cluster "b", not a'],
  ])('%s', (_name, cluster, expected) => {
    expect(envelopeProblem('a', { cluster, seq: 1, issuedAt: '' })).toBe(expected);
  });
});
