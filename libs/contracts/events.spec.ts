import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  BundleEventSchema,
  type ClusterEventType,
  GitRepoEventSchema,
  GroupEventSchema,
  RolloutChangeEventSchema,
  SyncAnnouncedEventSchema,
  changesTargeting,
  gitRepoEvent,
  rolloutChangeEvent,
} from './events.js';

describe('changesTargeting: which cluster events can change targeting', () => {
  it.each<[string, ClusterEventType, boolean]>([
    ['a registered cluster may be a new target', 'Registered', true],
    ['new labels may match other selectors and groups', 'Updated', true],
    ['a deleted cluster leaves its targets', 'Deleted', true],
    ['going Online or Offline changes no target', 'StateChanged', false],
  ])('%s', (_name, type, expected) => {
    expect(changesTargeting(type)).toBe(expected);
  });
});

describe('event schemas: what subscribers accept', () => {
  const at = '2026-12-07T02:00:00.000Z';
  const rollout = {
    id: '5b0e2a4c-0000-4000-8000-000000000001',
    bundle: 'ring/app',
    state: 'Progressing',
    toCommit: 'c0ffee',
  } as const;
  it.each<[string, z.ZodType, unknown, boolean]>([
    ['a sync request', GitRepoEventSchema, gitRepoEvent('SyncRequested', 'demo'), true],
    [
      'a sync with its commit',
      GitRepoEventSchema,
      { type: 'Synced', gitrepo: 'demo', commit: 'abc' },
      true,
    ],
    ['a sync without a commit', GitRepoEventSchema, { type: 'Synced', gitrepo: 'demo' }, false],
    [
      'a failed sync without its error',
      GitRepoEventSchema,
      { type: 'SyncFailed', gitrepo: 'demo' },
      false,
    ],
    [
      'a gitrepo event of an unknown kind',
      GitRepoEventSchema,
      { type: 'Moved', gitrepo: 'demo', at },
      false,
    ],
    ['a gitrepo event without its name', GitRepoEventSchema, { type: 'Changed', at }, false],
    [
      'targets of a bundle changed',
      BundleEventSchema,
      { type: 'TargetsChanged', bundle: 'demo/web' },
      true,
    ],
    ['a bundle event without its bundle', BundleEventSchema, { type: 'TargetsChanged' }, false],
    [
      'targets of a bundle changed by a sync',
      BundleEventSchema,
      { type: 'TargetsChanged', bundle: 'demo/web', sync: 's-1' },
      true,
    ],
    [
      'a sync announced its bundles',
      SyncAnnouncedEventSchema,
      { type: 'SyncAnnounced', sync: 's-1', gitrepo: 'demo', bundles: ['demo/web', 'demo/db'] },
      true,
    ],
    [
      'a sync announcement without its id',
      SyncAnnouncedEventSchema,
      { type: 'SyncAnnounced', gitrepo: 'demo', bundles: [] },
      false,
    ],
    [
      'a sync announcement is no bundle event',
      BundleEventSchema,
      { type: 'SyncAnnounced', sync: 's-1', gitrepo: 'demo', bundles: ['demo/web'] },
      false,
    ],
    ['a group changed', GroupEventSchema, { type: 'Changed', group: 'eu', at }, true],
    [
      'a group event of an unknown kind',
      GroupEventSchema,
      { type: 'Renamed', group: 'eu', at },
      false,
    ],
    ['not an object', BundleEventSchema, 'TargetsChanged', false],
    [
      'a rollout created',
      RolloutChangeEventSchema,
      rolloutChangeEvent('RolloutCreated', rollout),
      true,
    ],
    [
      'a rollout changed, with its transitions',
      RolloutChangeEventSchema,
      rolloutChangeEvent('RolloutChanged', { ...rollout, state: 'Superseded' }, [
        { type: 'ClusterStateChanged', cluster: 'c1', from: 'Waiting', to: 'Updating', at: 1 },
        { type: 'Superseded', from: 'Progressing', to: 'Superseded', reason: 'commit b' },
      ]),
      true,
    ],
    [
      'a rollout event in an unknown state',
      RolloutChangeEventSchema,
      { ...rolloutChangeEvent('RolloutChanged', rollout), state: 'Exploded' },
      false,
    ],
    [
      'a rollout event without its bundle',
      RolloutChangeEventSchema,
      { ...rolloutChangeEvent('RolloutChanged', rollout), bundle: undefined },
      false,
    ],
  ])('%s', (_name, schema, event, accepted) => {
    expect(schema.safeParse(event).success).toBe(accepted);
  });
});
