import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  BundleEventSchema,
  type ClusterEventType,
  GitRepoEventSchema,
  GroupEventSchema,
  changesTargeting,
  gitRepoEvent,
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
    ['a group changed', GroupEventSchema, { type: 'Changed', group: 'eu', at }, true],
    [
      'a group event of an unknown kind',
      GroupEventSchema,
      { type: 'Renamed', group: 'eu', at },
      false,
    ],
    ['not an object', BundleEventSchema, 'TargetsChanged', false],
  ])('%s', (_name, schema, event, accepted) => {
    expect(schema.safeParse(event).success).toBe(accepted);
  });
});
