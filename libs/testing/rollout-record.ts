import type { RolloutRecord } from '../contracts/rollouts.js';

/**
 * A rollout record as the planner writes it: a canary stage baking on c1, the rest waiting on
 * c2 and c3, and c4 matching no stage. `over` replaces whole fields.
 */
export function rolloutRecord(over: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    state: 'Progressing',
    fromRevision: 'from',
    toRevision: 'to',
    fromLabel: 'commit 1111aaaa',
    toLabel: 'commit 2222bbbb',
    stages: [
      {
        name: 'canary',
        clusters: ['c1'],
        state: 'Baking',
        startedAt: 1,
        bakedSince: 5,
        approved: false,
      },
      { name: 'rest', clusters: ['c2', 'c3'], state: 'Waiting', approved: false },
    ],
    clusters: {
      c1: { state: 'Succeeded', stage: 'canary', since: 5, releasedAt: 1, readySince: 5 },
      c2: { state: 'Waiting', stage: 'rest', since: 0 },
      c3: { state: 'Waiting', stage: 'rest', since: 0 },
      c4: { state: 'Skipped', stage: null, since: 0, reason: 'matches no stage' },
    },
    failures: 0,
    acceptedFailures: 0,
    createdAt: 0,
    updatedAt: 5,
    ...over,
  };
}
