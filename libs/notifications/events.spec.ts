import { describe, expect, it } from 'vitest';
import {
  ClusterEventType,
  RolloutChangeType,
  type RolloutTransition,
  clusterEvent,
  rolloutChangeEvent,
} from '../contracts/events.js';
import type { RolloutState } from '../contracts/rollouts.js';
import {
  type BundleDeployment,
  bundleProgress,
  commitStateOf,
  fromClusterEvent,
  fromGitRepoEvent,
  fromRolloutChange,
} from './events.js';

const rollout = (state: RolloutState) => ({ id: 'r1', bundle: 'web', state, toCommit: 'abc123' });

describe('fromRolloutChange', () => {
  it.each<[string, RolloutChangeType, RolloutState, RolloutTransition[], string[]]>([
    [
      'a created rollout is started',
      RolloutChangeType.RolloutCreated,
      'Progressing',
      [],
      ['RolloutStarted'],
    ],
    [
      'a stage that succeeded is done',
      RolloutChangeType.RolloutChanged,
      'Progressing',
      [{ type: 'StageStateChanged', stage: 'canary', from: 'Baking', to: 'Succeeded' }],
      ['RolloutStageDone'],
    ],
    [
      'a cluster that succeeded is no stage done',
      RolloutChangeType.RolloutChanged,
      'Progressing',
      [
        {
          type: 'ClusterStateChanged',
          stage: 'canary',
          cluster: 'eu-1',
          from: 'Baking',
          to: 'Succeeded',
        },
      ],
      [],
    ],
    [
      'paused',
      RolloutChangeType.RolloutChanged,
      'Paused',
      [{ type: 'RolloutStateChanged', from: 'Progressing', to: 'Paused' }],
      ['RolloutPaused'],
    ],
    [
      'failed',
      RolloutChangeType.RolloutChanged,
      'Failed',
      [{ type: 'RolloutStateChanged', from: 'Progressing', to: 'Failed' }],
      ['RolloutFailed'],
    ],
    [
      'rolled back',
      RolloutChangeType.RolloutChanged,
      'RolledBack',
      [{ type: 'RolloutStateChanged', from: 'Failed', to: 'RolledBack' }],
      ['RolloutRolledBack'],
    ],
    [
      'succeeded with its last stage',
      RolloutChangeType.RolloutChanged,
      'Succeeded',
      [
        { type: 'StageStateChanged', stage: 'all', from: 'Progressing', to: 'Succeeded' },
        { type: 'RolloutStateChanged', from: 'Progressing', to: 'Succeeded' },
      ],
      ['RolloutStageDone', 'RolloutSucceeded'],
    ],
    [
      'a change that is not a state change says nothing',
      RolloutChangeType.RolloutChanged,
      'Succeeded',
      [],
      [],
    ],
  ])('%s', (_name, type, state, transitions, kinds) => {
    const events = fromRolloutChange(rolloutChangeEvent(type, rollout(state), transitions), 'shop');
    expect(events.map((e) => e.kind)).toEqual(kinds);
    for (const e of events)
      expect(e).toMatchObject({ bundle: 'web', gitrepo: 'shop', commit: 'abc123' });
  });

  it('gives the same event the same id (replicas and replays add nothing)', () => {
    const e = rolloutChangeEvent(RolloutChangeType.RolloutCreated, rollout('Progressing'));
    expect(fromRolloutChange(e, undefined)[0]?.id).toBe(fromRolloutChange(e, undefined)[0]?.id);
  });
});

describe('fromClusterEvent', () => {
  const cluster = (state: string) => ({
    name: 'eu-1',
    labels: { env: 'prod' },
    state,
    lastSeen: null,
  });
  it.each([
    [
      'Online → Offline warns',
      ClusterEventType.StateChanged,
      'Offline',
      'Online',
      ['ClusterOffline:warning'],
    ],
    [
      'Offline → Online informs',
      ClusterEventType.StateChanged,
      'Online',
      'Offline',
      ['ClusterOnline:info'],
    ],
    ['no change of state says nothing', ClusterEventType.StateChanged, 'Online', 'Online', []],
    ['a registration says nothing', ClusterEventType.Registered, 'Pending', null, []],
  ] as const)('%s', (_name, type, state, previous, expected) => {
    const events = fromClusterEvent(clusterEvent(type, cluster(state), previous));
    expect(events.map((e) => `${e.kind}:${e.severity}`)).toEqual(expected);
    for (const e of events) expect(e.clusterLabels).toEqual({ env: 'prod' });
  });
});

describe('fromGitRepoEvent', () => {
  it.each([
    [
      'a failed sync is a fetch error',
      { type: 'SyncFailed', gitrepo: 'shop', error: 'auth' } as const,
      ['GitRepoFetchError'],
    ],
    [
      'a sync with errors is a render error',
      { type: 'Synced', gitrepo: 'shop', commit: 'c1', error: 'bad chart' } as const,
      ['BundleRenderError'],
    ],
    ['a clean sync says nothing', { type: 'Synced', gitrepo: 'shop', commit: 'c1' } as const, []],
    [
      'a sync request says nothing',
      { type: 'SyncRequested', gitrepo: 'shop', at: 'now' } as const,
      [],
    ],
  ])('%s', (_name, event, kinds) => {
    expect(fromGitRepoEvent(event, '2026-01-01T00:00:00Z').map((e) => e.kind)).toEqual(kinds);
  });
});

describe('bundleProgress', () => {
  const d = (
    cluster: string,
    state: string,
    desired = 'c2',
    target: string | null = 'c2',
  ): BundleDeployment => ({
    cluster,
    targetCommit: target,
    desiredCommit: desired,
    state,
  });
  it.each([
    ['every targeted cluster Ready at the commit', [d('a', 'Ready'), d('b', 'Ready')], 'Ready'],
    ['one still on the old commit', [d('a', 'Ready'), d('b', 'Ready', 'c1')], 'Progressing'],
    ['one not ready yet', [d('a', 'Ready'), d('b', 'NotReady')], 'Progressing'],
    ['one failed to apply', [d('a', 'Ready'), d('b', 'ErrApplied')], 'Failed'],
    [
      'a failure of the old commit is not this commit’s',
      [d('a', 'Ready'), d('b', 'ErrApplied', 'c1')],
      'Progressing',
    ],
    [
      'clusters no longer targeted do not count',
      [d('a', 'Ready'), d('b', 'NotReady', 'c2', null)],
      'Ready',
    ],
    ['no cluster targeted at the commit', [d('a', 'Ready', 'c1', 'c1')], null],
  ])('%s', (_name, deployments, expected) => {
    expect(bundleProgress(deployments, 'c2')).toBe(expected);
  });
});

describe('commitStateOf', () => {
  const base = { id: 'x', severity: 'info', message: '', at: '' } as const;
  it.each([
    ['RolloutStarted', 'pending'],
    ['RolloutPaused', 'pending'],
    ['RolloutStageDone', null],
    ['BundleProgressing', 'pending'],
    ['RolloutSucceeded', 'success'],
    ['BundleReady', 'success'],
    ['RolloutFailed', 'failure'],
    ['RolloutRolledBack', 'failure'],
    ['BundleFailed', 'failure'],
    ['ClusterOffline', null],
    ['DriftDetected', null],
    ['GitRepoFetchError', null],
  ] as const)('%s → %s', (kind, state) => {
    expect(commitStateOf({ ...base, kind })).toBe(state);
  });
});
