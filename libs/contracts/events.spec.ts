import { describe, expect, it } from 'vitest';
import { type ClusterEventType, changesTargeting } from './events.js';

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
