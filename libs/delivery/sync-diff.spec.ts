import { describe, expect, it } from 'vitest';
import { type HeldBundle, type SyncDiff, type DesiredChange, syncDiff } from './sync-diff.js';

const C = 'c1';
const upsert = (bundle: string, revision: string): DesiredChange => ({
  kind: 'Upsert',
  bundle,
  cluster: C,
  revision,
  commit: `commit-${revision}`,
});
const remove = (bundle: string): DesiredChange => ({ kind: 'Remove', bundle, cluster: C });
const held = (bundle: string, revision: string): HeldBundle => ({ bundle, revision });

describe('syncDiff', () => {
  it.each<[string, HeldBundle[], DesiredChange[], SyncDiff]>([
    [
      'an agent holding what the hub wants gets nothing',
      [held('a', 'r1')],
      [upsert('a', 'r1')],
      {
        changes: [],
        notHeld: [],
      },
    ],
    [
      'a new agent gets every desired revision, none held',
      [],
      [upsert('a', 'r1'), upsert('b', 'r2')],
      {
        changes: [upsert('a', 'r1'), upsert('b', 'r2')],
        notHeld: ['a', 'b'],
      },
    ],
    [
      'an agent holding another revision gets the desired one',
      [held('a', 'r0')],
      [upsert('a', 'r1')],
      {
        changes: [upsert('a', 'r1')],
        notHeld: [],
      },
    ],
    [
      'a pending removal of a held bundle is sent',
      [held('a', 'r1')],
      [remove('a')],
      {
        changes: [remove('a')],
        notHeld: [],
      },
    ],
    [
      'a pending removal of a bundle the agent no longer holds is not sent',
      [],
      [remove('a')],
      {
        changes: [],
        notHeld: [],
      },
    ],
    [
      'a held bundle the hub does not know for the cluster is removed',
      [held('gone', 'r9')],
      [],
      {
        changes: [remove('gone')],
        notHeld: [],
      },
    ],
    [
      'desired changes keep their order, removals of unknown bundles come last',
      [held('z', 'r9'), held('b', 'r0')],
      [upsert('a', 'r1'), upsert('b', 'r2')],
      { changes: [upsert('a', 'r1'), upsert('b', 'r2'), remove('z')], notHeld: ['a'] },
    ],
  ])('%s', (_name, heldNow, desired, expected) => {
    expect(syncDiff(C, heldNow, desired)).toEqual(expected);
  });
});
