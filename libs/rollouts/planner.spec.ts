import { describe, expect, it } from 'vitest';
import { FleetHarness, NEW, OLD, cluster, names, strategyOf } from './fleet-harness.js';
import {
  checkAction,
  createRollout,
  desiredRevisions,
  planRollout,
  supersedeRollout,
} from './planner.js';
import { ActionType, RolloutState, type OperatorAction, type RolloutRecord } from './types.js';

const S = 1_000;
const M = 60 * S;

/** canary (ring=canary, 1 at a time, 60s bake) → rest (2 at a time). */
const canaryThenRest = (
  extra: Record<string, unknown> = {},
  canary: Record<string, unknown> = {},
) => ({
  stages: [
    {
      name: 'canary',
      clusterSelector: { matchLabels: { ring: 'canary' } },
      maxUnavailable: 1,
      bakeTime: '60s',
      ...canary,
    },
    { name: 'rest', maxUnavailable: 2 },
  ],
  ...extra,
});

/** Five clusters: `canary` (ring=canary) and r1..r4. */
const fiveClusters = () => [
  cluster('canary', { ring: 'canary' }),
  ...['r1', 'r2', 'r3', 'r4'].map((n) => cluster(n)),
];

const promote = (by = 'alice', stage?: string): OperatorAction => ({
  type: ActionType.Promote,
  by,
  ...(stage === undefined ? {} : { stage }),
});

describe('createRollout', () => {
  it('clusters that match no stage are reported and recorded Skipped with the reason', () => {
    const fleet = new FleetHarness(
      { stages: [{ name: 'canary', clusterSelector: { matchLabels: { ring: 'canary' } } }] },
      fiveClusters(),
    );
    expect(fleet.unmatched).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(fleet.record.clusters.r1).toMatchObject({
      state: 'Skipped',
      stage: null,
      reason: 'matches no stage',
    });
    fleet.tick();
    fleet.ready('canary').tick();
    expect(fleet.record.state).toBe(RolloutState.Succeeded);
    expect(fleet.released).toEqual(['canary']);
    expect(fleet.record.reason).toBe(
      'every stage passed; 4 cluster(s) matching no stage keep the old revision',
    );
    expect(desiredRevisions(fleet.record)).toMatchObject({ canary: NEW, r1: OLD, r4: OLD });
  });

  it.each([
    {
      name: 'a cluster already Ready at the new revision is Succeeded from the start',
      over: { reportedRevision: NEW },
      expected: 'Succeeded',
    },
    { name: 'a cluster Ready at the old revision is Waiting', over: {}, expected: 'Waiting' },
    {
      name: 'a cluster NotReady at the new revision is Waiting',
      over: { reportedRevision: NEW, reportedState: 'NotReady' as const },
      expected: 'Waiting',
    },
    {
      name: 'a cluster that never reported is Waiting',
      over: { reportedRevision: null, reportedState: 'Pending' as const },
      expected: 'Waiting',
    },
  ])('$name', ({ over, expected }) => {
    const { record } = createRollout(strategyOf({}), [cluster('c1', {}, over)], OLD, NEW, 0);
    expect(record.clusters.c1?.state).toBe(expected);
    expect(record.state).toBe(RolloutState.Pending);
  });

  it('a rollout whose clusters all run the new revision already succeeds on its first plan, releasing nothing', () => {
    const fleet = new FleetHarness(
      { autoPartitionSize: 1 },
      names(3).map((n) => cluster(n, {}, { reportedRevision: NEW })),
    );
    const plan = fleet.tick();
    expect(plan.release).toEqual([]);
    expect(fleet.record.state).toBe(RolloutState.Succeeded);
  });

  it('rejects a cluster listed twice', () => {
    expect(() => createRollout(strategyOf({}), [cluster('a'), cluster('a')], OLD, NEW, 0)).toThrow(
      /listed twice/,
    );
  });
});

describe('canary → rest with bake time', () => {
  it('nothing outside the canary is released before the canary has been Ready for the bake time', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    const steps: {
      advance: number;
      act?: () => void;
      release: string[];
      canary: string;
      stage: string;
    }[] = [
      { advance: 0, release: ['canary'], canary: 'Updating', stage: 'Progressing' },
      { advance: 10 * S, release: [], canary: 'Updating', stage: 'Progressing' },
      {
        advance: 0,
        act: () => fleet.ready('canary'),
        release: [],
        canary: 'Baking',
        stage: 'Baking',
      },
      { advance: 59 * S, release: [], canary: 'Baking', stage: 'Baking' },
      { advance: 999, release: [], canary: 'Baking', stage: 'Baking' },
      { advance: 1, release: ['r1', 'r2'], canary: 'Succeeded', stage: 'Succeeded' },
    ];
    for (const step of steps) {
      step.act?.();
      const plan = fleet.tick(step.advance);
      expect({
        at: fleet.now,
        release: plan.release,
        canary: fleet.state('canary'),
        stage: fleet.stage('canary'),
      }).toEqual({
        at: fleet.now,
        release: step.release,
        canary: step.canary,
        stage: step.stage,
      });
    }
    expect(fleet.record.clusters.canary?.readySince).toBe(10 * S);
  });

  it('a baking cluster that stops being Ready goes back to Updating and bakes again in full', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick();
    fleet.ready('canary').tick();
    fleet.report('canary', NEW, 'NotReady', 'pod crash-looping').tick(30 * S);
    expect(fleet.state('canary')).toBe('Updating');
    expect(fleet.record.clusters.canary?.reason).toContain('pod crash-looping');
    fleet.ready('canary').tick(5 * S);
    expect(fleet.state('canary')).toBe('Baking');
    expect(fleet.tick(59 * S).release).toEqual([]);
    expect(fleet.tick(1 * S).release).toEqual(['r1', 'r2']);
  });

  it('wakeAt names the moment the canary finishes baking', () => {
    const fleet = new FleetHarness(canaryThenRest({ progressDeadline: '10m' }), fiveClusters());
    expect(fleet.tick().wakeAt).toBe(10 * M);
    fleet.ready('canary');
    expect(fleet.tick(3 * S).wakeAt).toBe(63 * S);
  });

  it('a Succeeded cluster that stops being Ready before its stage passes holds the gate and restarts the stage bake', () => {
    const fleet = new FleetHarness(canaryThenRest({}, { requireApproval: true }), fiveClusters());
    fleet.tick();
    fleet.ready('canary').tick();
    fleet.tick(60 * S);
    expect(fleet.stage('canary')).toBe('AwaitingApproval');
    fleet.report('canary', NEW, 'NotReady').tick(1 * S);
    expect(fleet.state('canary')).toBe('Succeeded');
    expect(fleet.stage('canary')).toBe('Progressing');
    fleet.ready('canary').tick(1 * S);
    expect(fleet.stage('canary')).toBe('Baking');
    expect(fleet.record.stages[0]?.bakedSince).toBe(62 * S);
    fleet.tick(60 * S);
    expect(fleet.stage('canary')).toBe('AwaitingApproval');
  });
});

describe('maxUnavailable', () => {
  it.each([
    { name: 'maxUnavailable 1 releases one cluster at a time', maxUnavailable: 1, first: 1 },
    { name: 'maxUnavailable 2 releases two clusters at a time', maxUnavailable: 2, first: 2 },
    { name: 'maxUnavailable 0 still releases one cluster at a time', maxUnavailable: 0, first: 1 },
    { name: 'maxUnavailable 50% of 5 rounds up to 3', maxUnavailable: '50%', first: 3 },
    { name: 'maxUnavailable 100% releases the whole stage', maxUnavailable: '100%', first: 5 },
    { name: 'maxUnavailable unset releases the whole stage', maxUnavailable: undefined, first: 5 },
  ])('$name', ({ maxUnavailable, first }) => {
    const fleet = new FleetHarness(
      { stages: [{ name: 'all', ...(maxUnavailable === undefined ? {} : { maxUnavailable }) }] },
      names(5).map((n) => cluster(n)),
    );
    const plan = fleet.tick();
    expect(plan.release).toEqual(names(5).slice(0, first));
    // Nothing more while those are Updating.
    expect(fleet.tick(10 * S).release).toEqual([]);
    // One becomes Ready (no bake): exactly one more is released, if any is left.
    fleet.ready('c1');
    expect(fleet.tick(1 * S).release).toEqual(names(5).slice(first, first + 1));
    expect(fleet.updating().length).toBeLessThanOrEqual(Math.max(1, first));
  });

  it.each([
    {
      name: 'an offline Waiting cluster is not released and uses up maxUnavailable 1',
      maxUnavailable: 1,
      release: [],
    },
    {
      name: 'an offline Waiting cluster is skipped over and counts against maxUnavailable 2',
      maxUnavailable: 2,
      release: ['c3'],
    },
  ])('$name', ({ maxUnavailable, release }) => {
    const fleet = new FleetHarness({ stages: [{ name: 'all', maxUnavailable }] }, [
      cluster('c1', {}, { online: false }),
      cluster('c2', {}, { reportedRevision: NEW }),
      cluster('c3'),
    ]);
    expect(fleet.tick().release).toEqual(release);
    expect(fleet.state('c1')).toBe('Waiting');
    fleet.setOnline('c1', true);
    expect(fleet.tick(1 * S).release).toEqual(['c1']);
  });
});

describe('gates', () => {
  it('requireApproval holds the next stage until a promote', () => {
    const fleet = new FleetHarness(
      canaryThenRest({}, { requireApproval: true, bakeTime: '0s' }),
      fiveClusters(),
    );
    fleet.tick();
    fleet.ready('canary').tick();
    expect(fleet.state('canary')).toBe('Succeeded');
    expect(fleet.stage('canary')).toBe('AwaitingApproval');
    expect(fleet.tick(24 * 60 * M).release).toEqual([]);
    const plan = fleet.tick(1 * S, [promote('alice', 'canary')]);
    expect(plan.release).toEqual(['r1', 'r2']);
    expect(plan.events).toContainEqual(
      expect.objectContaining({ type: 'StageApproved', stage: 'canary', by: 'alice' }),
    );
  });

  it('promote waives the bake time of the current stage', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick();
    fleet.ready('canary').tick(1 * S);
    expect(fleet.state('canary')).toBe('Baking');
    expect(fleet.tick(1 * S, [promote()]).release).toEqual(['r1', 'r2']);
    expect(fleet.state('canary')).toBe('Succeeded');
  });

  it.each([
    {
      name: 'a promote naming a stage that is not the current one is rejected',
      action: promote('bob', 'rest'),
      reason: /"rest" is not the current stage \("canary"\)/,
    },
    {
      name: 'a second promote of the same stage is rejected',
      action: promote('bob', 'canary'),
      reason: /already promoted/,
      before: [promote('alice')],
    },
  ])('$name', ({ action, reason, before }) => {
    const fleet = new FleetHarness(canaryThenRest({}, { requireApproval: true }), fiveClusters());
    fleet.tick(0, before ?? []);
    const plan = fleet.tick(1 * S, [action]);
    expect(plan.rejected).toEqual([{ action, reason: expect.stringMatching(reason) }]);
    expect(fleet.released).toEqual(['canary']);
  });

  it('an offline canary does not pass its gate, and bakes again in full once back', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick();
    fleet.ready('canary').tick();
    fleet.setOnline('canary', false);
    expect(fleet.tick(60 * S).release).toEqual([]);
    expect(fleet.state('canary')).toBe('Updating');
    expect(fleet.record.clusters.canary?.reason).toContain('offline');
    fleet.setOnline('canary', true);
    expect(fleet.tick(1 * M).release).toEqual([]);
    expect(fleet.state('canary')).toBe('Baking');
    expect(fleet.tick(60 * S).release).toEqual(['r1', 'r2']);
  });

  it('promote does not pass a gate while a cluster of the stage is offline', () => {
    const fleet = new FleetHarness(
      canaryThenRest({}, { requireApproval: true, bakeTime: '0s' }),
      fiveClusters(),
    );
    fleet.tick();
    fleet.ready('canary').tick();
    expect(fleet.state('canary')).toBe('Succeeded');
    fleet.setOnline('canary', false);
    expect(fleet.tick(1 * S, [promote()]).release).toEqual([]);
    expect(fleet.stage('canary')).toBe('Progressing');
    fleet.setOnline('canary', true);
    expect(fleet.tick(1 * S).release).toEqual(['r1', 'r2']);
  });

  it('an empty stage passes without releasing anyone, but still waits for its approval', () => {
    const fleet = new FleetHarness(
      {
        stages: [
          {
            name: 'canary',
            clusterSelector: { matchLabels: { ring: 'none' } },
            requireApproval: true,
          },
          { name: 'rest' },
        ],
      },
      names(2).map((n) => cluster(n)),
    );
    expect(fleet.tick().release).toEqual([]);
    expect(fleet.stage('canary')).toBe('AwaitingApproval');
    expect(fleet.tick(1 * S, [promote()]).release).toEqual(['c1', 'c2']);
  });
});

describe('what counts as Ready', () => {
  it.each([
    {
      name: 'stale Ready of the old revision does not count',
      revision: OLD,
      state: 'Ready' as const,
      expected: 'Updating',
    },
    {
      name: 'NotReady at the new revision does not count',
      revision: NEW,
      state: 'NotReady' as const,
      expected: 'Updating',
    },
    {
      name: 'WaitApplied at the new revision does not count',
      revision: NEW,
      state: 'WaitApplied' as const,
      expected: 'Updating',
    },
    {
      name: 'Modified at the new revision does not count',
      revision: NEW,
      state: 'Modified' as const,
      expected: 'Updating',
    },
    {
      name: 'ErrApplied at the old revision is not a failure of the new one',
      revision: OLD,
      state: 'ErrApplied' as const,
      expected: 'Updating',
    },
    {
      name: 'ErrApplied at the new revision is a failure',
      revision: NEW,
      state: 'ErrApplied' as const,
      expected: 'Failed',
    },
    {
      name: 'Ready at the new revision counts',
      revision: NEW,
      state: 'Ready' as const,
      expected: 'Succeeded',
    },
  ])('$name', ({ revision, state, expected }) => {
    const fleet = new FleetHarness({ maxFailures: 1 }, [cluster('c1')]);
    fleet.tick();
    fleet.report('c1', revision, state).tick(1 * S);
    expect(fleet.state('c1')).toBe(expected);
  });

  it('Ready at the new revision reported by an offline cluster does not count', () => {
    const fleet = new FleetHarness({}, [cluster('c1')]);
    fleet.tick();
    fleet
      .ready('c1')
      .setOnline('c1', false)
      .tick(1 * S);
    expect(fleet.state('c1')).toBe('Updating');
  });
});

describe('progressDeadline', () => {
  it.each([
    {
      name: 'a cluster not Ready within progressDeadline 5m is TimedOut at 5m, not before',
      deadline: '5m',
      limit: 5 * M,
    },
    { name: 'progressDeadline unset is 10m', deadline: undefined, limit: 10 * M },
  ])('$name', ({ deadline, limit }) => {
    const fleet = new FleetHarness(
      {
        maxFailures: 1,
        autoPartitionSize: '100%',
        ...(deadline ? { progressDeadline: deadline } : {}),
      },
      [cluster('c1'), cluster('c2')],
    );
    expect(fleet.tick().wakeAt).toBe(limit);
    fleet.report('c1', NEW, 'NotReady', 'image pull backoff');
    fleet.tick(limit - 1);
    expect(fleet.state('c1')).toBe('Updating');
    fleet.tick(1);
    expect(fleet.state('c1')).toBe('TimedOut');
    expect(fleet.record.clusters.c1?.reason).toMatch(
      /within progressDeadline .* \(NotReady: image pull backoff\)/,
    );
    expect(fleet.record.failures).toBe(2);
  });

  it('a cluster that went back to Updating from Baking gets a fresh deadline', () => {
    const fleet = new FleetHarness(
      { progressDeadline: '5m', stages: [{ name: 'all', bakeTime: '10m' }] },
      [cluster('c1')],
    );
    fleet.tick();
    fleet.ready('c1').tick(4 * M);
    fleet.report('c1', NEW, 'NotReady').tick(1 * M);
    fleet.tick(4 * M);
    expect(fleet.state('c1')).toBe('Updating');
    fleet.tick(1 * M);
    expect(fleet.state('c1')).toBe('TimedOut');
  });
});

describe('failures', () => {
  it('maxFailures 0 with onFailure rollback rolls the canary back and never releases another cluster', () => {
    const fleet = new FleetHarness(
      canaryThenRest({ maxFailures: 0, onFailure: 'rollback' }),
      fiveClusters(),
    );
    fleet.tick();
    const plan = fleet.report('canary', NEW, 'ErrApplied', 'admission webhook denied').tick(5 * S);
    expect(fleet.record.state).toBe(RolloutState.RolledBack);
    expect(plan.rollback).toEqual(['canary']);
    expect(plan.rollbackTo).toBe(OLD);
    expect(fleet.record.reason).toMatch(
      /1 failed cluster\(s\) exceed maxFailures 0: canary \(Failed\)/,
    );
    for (let i = 0; i < 10; i++) fleet.tick(1 * M);
    expect(fleet.released).toEqual(['canary']);
    expect(fleet.rolledBack).toEqual(['canary']);
    expect(new Set(Object.values(desiredRevisions(fleet.record)))).toEqual(new Set([OLD]));
  });

  it('onFailure pause pauses with the reason and releases nothing more', () => {
    const fleet = new FleetHarness(canaryThenRest({ progressDeadline: '2m' }), fiveClusters());
    fleet.tick();
    const plan = fleet.tick(2 * M);
    expect(fleet.state('canary')).toBe('TimedOut');
    expect(fleet.record.state).toBe(RolloutState.Paused);
    expect(fleet.record.pausedBy).toBeUndefined();
    expect(fleet.record.reason).toMatch(/exceed maxFailures 0: canary \(TimedOut\)/);
    expect(plan.rollback).toEqual([]);
    expect(fleet.tick(1 * M).release).toEqual([]);
  });

  it('resuming a rollout paused for failures accepts them and continues; a further failure pauses again', () => {
    const fleet = new FleetHarness(canaryThenRest({}, { bakeTime: '0s', maxUnavailable: 2 }), [
      cluster('canary-a', { ring: 'canary' }),
      cluster('canary-b', { ring: 'canary' }),
      cluster('r1'),
      cluster('r2'),
    ]);
    fleet.tick();
    fleet
      .report('canary-a', NEW, 'ErrApplied')
      .ready('canary-b')
      .tick(1 * S);
    expect(fleet.record.state).toBe(RolloutState.Paused);
    expect(fleet.tick(1 * M).release).toEqual([]);
    const resumed = fleet.tick(1 * S, [{ type: 'resume', by: 'carol' }]);
    expect(resumed.events).toContainEqual(
      expect.objectContaining({ type: 'FailuresAccepted', by: 'carol', to: '1' }),
    );
    expect(resumed.release).toEqual(['r1', 'r2']);
    fleet
      .report('r1', NEW, 'ErrApplied')
      .ready('r2')
      .tick(1 * S);
    expect(fleet.record.state).toBe(RolloutState.Paused);
    expect(fleet.record.failures).toBe(2);
  });

  it.each([
    { name: 'maxFailures 1 of 5 tolerates one failure', maxFailures: 1, n: 5, tolerated: 1 },
    {
      name: 'maxFailures 20% of 10 tolerates two failures',
      maxFailures: '20%',
      n: 10,
      tolerated: 2,
    },
    {
      name: 'maxFailures 25% of 10 rounds down and tolerates two failures',
      maxFailures: '25%',
      n: 10,
      tolerated: 2,
    },
    {
      name: 'maxFailures 10% of 5 rounds down and tolerates none',
      maxFailures: '10%',
      n: 5,
      tolerated: 0,
    },
  ])('$name', ({ maxFailures, n, tolerated }) => {
    const all = names(n);
    const fleet = new FleetHarness(
      { maxFailures, autoPartitionSize: '100%' },
      all.map((c) => cluster(c)),
    );
    fleet.tick();
    for (const c of all.slice(0, tolerated)) fleet.report(c, NEW, 'ErrApplied');
    fleet.tick(1 * S);
    expect(fleet.record.state).toBe(RolloutState.Progressing);
    fleet.report(all[tolerated]!, NEW, 'ErrApplied').tick(1 * S);
    expect(fleet.record.state).toBe(RolloutState.Paused);
  });

  it('a rollout whose stages pass with tolerated failures ends Failed, naming them', () => {
    const fleet = new FleetHarness(
      { maxFailures: 1, autoPartitionSize: 2 },
      names(4).map((n) => cluster(n)),
    );
    fleet.tick();
    fleet
      .report('c1', NEW, 'ErrApplied')
      .ready('c2')
      .tick(1 * S);
    expect(fleet.released).toEqual(['c1', 'c2', 'c3', 'c4']);
    fleet.ready('c3', 'c4').tick(1 * S);
    expect(fleet.record.state).toBe(RolloutState.Failed);
    expect(fleet.record.reason).toBe('every stage passed, but 1 cluster(s) failed: c1');
  });
});

describe('operator actions', () => {
  it('pause holds releases, resume continues', () => {
    const fleet = new FleetHarness(
      { autoPartitionSize: 2 },
      names(4).map((n) => cluster(n)),
    );
    expect(fleet.tick().release).toEqual(['c1', 'c2']);
    const paused = fleet.tick(1 * S, [{ type: 'pause', by: 'bob', reason: 'investigating' }]);
    expect(paused.events).toContainEqual(
      expect.objectContaining({
        type: 'RolloutStateChanged',
        from: 'Progressing',
        to: 'Paused',
        by: 'bob',
        reason: 'paused by bob: investigating',
      }),
    );
    expect(fleet.record.pausedBy).toBe('bob');
    fleet.ready('c1', 'c2');
    expect(fleet.tick(1 * M).release).toEqual([]);
    expect(fleet.states()).toMatchObject({ c1: 'Succeeded', c2: 'Succeeded', c3: 'Waiting' });
    const resumed = fleet.tick(1 * S, [{ type: 'resume', by: 'bob' }]);
    expect(resumed.release).toEqual(['c3', 'c4']);
    expect(fleet.record.pausedBy).toBeUndefined();
  });

  it('a pause before the first plan keeps the rollout from starting', () => {
    const fleet = new FleetHarness({}, [cluster('c1')]);
    expect(fleet.tick(0, [{ type: 'pause', by: 'bob' }]).release).toEqual([]);
    expect(fleet.record.state).toBe(RolloutState.Paused);
  });

  it.each([
    {
      name: 'resume is rejected when the rollout is not paused',
      actions: [{ type: 'resume', by: 'x' }],
      reason: 'the rollout is not paused',
    },
    {
      name: 'pause is rejected when the rollout is already paused',
      actions: [
        { type: 'pause', by: 'x' },
        { type: 'pause', by: 'y' },
      ],
      reason: 'the rollout is already paused',
    },
    {
      name: 'any action after an abort is rejected',
      actions: [
        { type: 'abort', by: 'x' },
        { type: 'resume', by: 'y' },
      ],
      reason: 'the rollout is Aborted; it cannot change any more',
    },
  ] as { name: string; actions: OperatorAction[]; reason: string }[])(
    '$name',
    ({ actions, reason }) => {
      const fleet = new FleetHarness({}, [cluster('c1')]);
      const plan = fleet.tick(0, actions);
      expect(plan.rejected).toEqual([{ action: actions[actions.length - 1], reason }]);
    },
  );

  it('abort stops releases and rolls nothing back', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick();
    const plan = fleet.tick(1 * S, [{ type: 'abort', by: 'dave', reason: 'wrong commit' }]);
    expect(fleet.record.state).toBe(RolloutState.Aborted);
    expect(fleet.record.reason).toBe('aborted by dave: wrong commit');
    expect(plan.rollback).toEqual([]);
    fleet.ready('canary');
    for (let i = 0; i < 5; i++) fleet.tick(1 * M);
    expect(fleet.released).toEqual(['canary']);
    expect(desiredRevisions(fleet.record)).toEqual({
      canary: NEW,
      r1: OLD,
      r2: OLD,
      r3: OLD,
      r4: OLD,
    });
  });

  it('an operator rollback sends back every released cluster, Succeeded and Updating alike', () => {
    const fleet = new FleetHarness(canaryThenRest({}, { bakeTime: '0s' }), fiveClusters());
    fleet.tick();
    fleet.ready('canary').tick(1 * S);
    fleet.ready('r1').tick(1 * S);
    expect(fleet.states()).toMatchObject({
      canary: 'Succeeded',
      r1: 'Succeeded',
      r2: 'Updating',
      r3: 'Updating',
      r4: 'Waiting',
    });
    const plan = fleet.tick(1 * S, [{ type: 'rollback', by: 'erin' }]);
    expect(plan.rollback).toEqual(['canary', 'r1', 'r2', 'r3']);
    expect(plan.release).toEqual([]);
    expect(plan.events).toContainEqual(expect.objectContaining({ to: 'RolledBack', by: 'erin' }));
    expect(fleet.record.state).toBe(RolloutState.RolledBack);
  });

  it('checkAction answers the API with the same reasons the planner uses', () => {
    const { record } = createRollout(strategyOf({}), [cluster('c1')], OLD, NEW, 0);
    expect(checkAction(record, { type: 'resume', by: 'x' })).toBe('the rollout is not paused');
    expect(checkAction(record, { type: 'pause', by: 'x' })).toBeUndefined();
    expect(checkAction({ ...record, state: 'Succeeded' }, { type: 'rollback', by: 'x' })).toMatch(
      /Succeeded; it cannot change/,
    );
  });
});

describe('first deployment', () => {
  const fresh = () =>
    names(3).map((n) => cluster(n, {}, { reportedRevision: null, reportedState: 'Pending' }));

  it('rolling back a first deployment means removing the bundle: rollbackTo is null', () => {
    const fleet = new FleetHarness({ autoPartitionSize: 1 }, fresh(), null);
    fleet.tick();
    const plan = fleet.report('c1', NEW, 'ErrApplied').tick(1 * S, []);
    expect(fleet.record.state).toBe(RolloutState.Paused);
    const rolledBack = fleet.tick(1 * S, [{ type: 'rollback', by: 'erin' }]);
    expect(plan.rollbackTo).toBeNull();
    expect(rolledBack).toMatchObject({ rollback: ['c1'], rollbackTo: null });
    expect(desiredRevisions(fleet.record)).toEqual({ c1: null, c2: null, c3: null });
  });

  it('a first deployment rolls out stage by stage like any other', () => {
    const fleet = new FleetHarness({ autoPartitionSize: 1 }, fresh(), null);
    expect(fleet.tick().release).toEqual(['c1']);
    expect(desiredRevisions(fleet.record)).toEqual({ c1: NEW, c2: null, c3: null });
    fleet.ready('c1');
    expect(fleet.tick(1 * S).release).toEqual(['c2']);
  });
});

describe('terminal states', () => {
  const everything: OperatorAction[] = ['pause', 'resume', 'promote', 'abort', 'rollback'].map(
    (type) => ({
      type: type as OperatorAction['type'],
      by: 'mallory',
    }),
  );

  it.each(['Succeeded', 'Failed', 'Aborted', 'RolledBack', 'Superseded'] as const)(
    'a %s rollout never changes again, whatever is observed or asked',
    (state) => {
      const created = createRollout(
        strategyOf({ autoPartitionSize: 1 }),
        names(2).map((n) => cluster(n)),
        OLD,
        NEW,
        0,
      );
      const record: RolloutRecord = { ...created.record, state };
      const frozen = structuredClone(record);
      const observations = names(2).map((n) =>
        cluster(n, {}, { reportedRevision: NEW, reportedState: 'ErrApplied' }),
      );
      const plan = planRollout(
        strategyOf({ autoPartitionSize: 1 }),
        record,
        observations,
        99 * M,
        everything,
      );
      expect(plan.record).toEqual(frozen);
      expect(plan).toMatchObject({ release: [], rollback: [], events: [], wakeAt: null });
      expect(plan.rejected.map((r) => r.action.type)).toEqual(everything.map((a) => a.type));
      expect(supersedeRollout(record, 99 * M)).toBe(record);
    },
  );

  it('supersede ends a live rollout where it is, releasing and rolling back nothing', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick();
    const next = supersedeRollout(fleet.record, 5 * S, 'superseded by commit abc');
    expect(next).toMatchObject({
      state: 'Superseded',
      reason: 'superseded by commit abc',
      updatedAt: 5 * S,
    });
    expect(fleet.record.state).toBe(RolloutState.Progressing);
    expect(desiredRevisions(next)).toMatchObject({ canary: NEW, r1: OLD });
  });
});

describe('how a rollout ends for its stages', () => {
  /** canary (bake 0) Succeeded, rest Progressing with r1 Succeeded, r2 and r3 Updating. */
  const midway = () => {
    const fleet = new FleetHarness(canaryThenRest({}, { bakeTime: '0s' }), [
      ...fiveClusters(),
      cluster('r5'),
      cluster('r6'),
    ]);
    fleet.tick();
    fleet.ready('canary').tick(1 * S);
    return fleet;
  };
  /** Three stages; the canary still Progressing, the others Waiting. */
  const atCanary = () => {
    const fleet = new FleetHarness(
      {
        stages: [
          { name: 'canary', clusterSelector: { matchLabels: { ring: 'canary' } } },
          { name: 'rest' },
          { name: 'late', clusterSelector: { matchLabels: { ring: 'late' } } },
        ],
      },
      fiveClusters(),
    );
    fleet.tick();
    return fleet;
  };
  const stages = (f: FleetHarness) =>
    Object.fromEntries(f.record.stages.map((s) => [s.name, s.state]));

  it.each([
    {
      name: 'an operator rollback at the canary: the canary RolledBack, the stages after it Cancelled',
      fleet: atCanary,
      act: (f: FleetHarness) => f.tick(1 * S, [{ type: 'rollback', by: 'erin' }]),
      want: { canary: 'RolledBack', rest: 'Cancelled', late: 'Cancelled' },
    },
    {
      name: 'onFailure rollback at the canary: the canary RolledBack, the stages after it Cancelled',
      fleet: () => {
        const f = new FleetHarness(
          canaryThenRest({ onFailure: 'rollback', maxFailures: 0 }),
          fiveClusters(),
        );
        f.tick();
        return f;
      },
      act: (f: FleetHarness) => f.report('canary', NEW, 'ErrApplied').tick(1 * S),
      want: { canary: 'RolledBack', rest: 'Cancelled' },
    },
    {
      name: 'a rollback in the second stage: the passed stage was sent back too',
      fleet: midway,
      act: (f: FleetHarness) => f.tick(1 * S, [{ type: 'rollback', by: 'erin' }]),
      want: { canary: 'RolledBack', rest: 'RolledBack' },
    },
    {
      name: 'abort: a passed stage stays Succeeded, the current one is Cancelled',
      fleet: midway,
      act: (f: FleetHarness) => f.tick(1 * S, [{ type: 'abort', by: 'dave' }]),
      want: { canary: 'Succeeded', rest: 'Cancelled' },
    },
    {
      name: 'abort before any stage passed: every stage Cancelled',
      fleet: atCanary,
      act: (f: FleetHarness) => f.tick(1 * S, [{ type: 'abort', by: 'dave' }]),
      want: { canary: 'Cancelled', rest: 'Cancelled', late: 'Cancelled' },
    },
  ])('$name', ({ fleet, act, want }) => {
    const f = fleet();
    const plan = act(f);
    expect(stages(f)).toEqual(want);
    for (const [stage, to] of Object.entries(want)) {
      if (to === 'Succeeded') continue;
      expect(plan.events).toContainEqual(
        expect.objectContaining({ type: 'StageStateChanged', stage, to }),
      );
    }
  });

  it('supersede ends the current stage Cancelled and keeps passed stages Succeeded', () => {
    const f = midway();
    const next = supersedeRollout(f.record, 5 * S, 'superseded by commit abc');
    expect(Object.fromEntries(next.stages.map((s) => [s.name, s.state]))).toEqual({
      canary: 'Succeeded',
      rest: 'Cancelled',
    });
  });

  it('a Succeeded rollout keeps every stage Succeeded', () => {
    const f = new FleetHarness(canaryThenRest({}, { bakeTime: '0s' }), fiveClusters());
    f.tick();
    f.ready('canary').tick(1 * S);
    f.ready('r1', 'r2').tick(1 * S);
    f.ready('r3', 'r4').tick(1 * S);
    expect(f.record.state).toBe(RolloutState.Succeeded);
    expect(stages(f)).toEqual({ canary: 'Succeeded', rest: 'Succeeded' });
  });
});

describe('how messages name the revisions', () => {
  const labelled = () =>
    createRollout(
      strategyOf(canaryThenRest({}, { bakeTime: '0s' })),
      fiveClusters(),
      'from',
      'to',
      0,
      { from: 'commit 1111aaaa', to: 'commit 2222bbbb' },
    ).record;

  it.each([
    {
      name: 'with labels, a released cluster is released to the new commit',
      record: labelled,
      action: undefined,
      cluster: 'canary',
      reason: 'released to commit 2222bbbb',
    },
    {
      name: 'with labels, a rolled back cluster is rolled back to the old commit',
      record: labelled,
      action: { type: 'rollback', by: 'erin' } as const,
      cluster: 'canary',
      reason: 'released to commit 2222bbbb; rolled back to commit 1111aaaa',
    },
    {
      name: 'without labels, the revision ids are named',
      record: () => createRollout(strategyOf(canaryThenRest()), fiveClusters(), OLD, NEW, 0).record,
      action: undefined,
      cluster: 'canary',
      reason: `released to revision ${NEW.slice(0, 12)}`,
    },
  ])('$name', ({ record, action, cluster: name, reason }) => {
    const strategy = strategyOf(canaryThenRest({}, { bakeTime: '0s' }));
    let r = planRollout(strategy, record(), fiveClusters(), 0).record;
    if (action) r = planRollout(strategy, r, fiveClusters(), 1 * S, [action]).record;
    expect(r.clusters[name]?.reason).toBe(reason);
  });
});

describe('planner hygiene', () => {
  it('does not modify the record it is given', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    const before = structuredClone(fleet.record);
    const given = fleet.record;
    fleet.tick();
    expect(given).toEqual(before);
  });

  it('planning twice with the same input changes nothing the second time', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick();
    fleet.ready('canary').tick(61 * S);
    const first = fleet.record;
    const again = fleet.tick(0);
    expect(again).toMatchObject({ release: [], rollback: [], events: [] });
    expect(again.record).toEqual(first);
  });

  it('updatedAt moves only when something changed', () => {
    const fleet = new FleetHarness(canaryThenRest(), fiveClusters());
    fleet.tick(1 * S);
    expect(fleet.record.updatedAt).toBe(1 * S);
    fleet.tick(1 * S);
    expect(fleet.record.updatedAt).toBe(1 * S);
  });

  it('clusters targeted after the rollout began are reported untracked and left alone', () => {
    const fleet = new FleetHarness({}, [cluster('c1')]);
    fleet.observed.set('late', cluster('late'));
    const plan = fleet.tick();
    expect(plan.untracked).toEqual(['late']);
    expect(plan.release).toEqual(['c1']);
  });

  it('a tracked cluster missing from the observations counts as offline', () => {
    const fleet = new FleetHarness({ stages: [{ name: 'all', maxUnavailable: 2 }] }, [
      cluster('c1'),
      cluster('c2'),
    ]);
    fleet.observed.delete('c1');
    expect(fleet.tick().release).toEqual(['c2']);
  });

  it('events carry the time of the call and every transition in order', () => {
    const fleet = new FleetHarness({ autoPartitionSize: '100%' }, [cluster('c1')]);
    const plan = fleet.tick(7 * S);
    expect(
      plan.events.map((e) => [e.type, e.stage ?? e.cluster ?? '', e.from, e.to, e.at]),
    ).toEqual([
      ['RolloutStateChanged', '', 'Pending', 'Progressing', 7 * S],
      ['StageStateChanged', 'partition-1', 'Waiting', 'Progressing', 7 * S],
      ['ClusterStateChanged', 'partition-1', 'Waiting', 'Updating', 7 * S],
    ]);
  });
});
