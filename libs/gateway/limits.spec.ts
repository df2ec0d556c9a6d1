import { describe, expect, it } from 'vitest';
import { MAX_SYNC_HELD, syncRequestProblem } from './limits.js';

describe('syncRequestProblem', () => {
  it.each([
    ['an agent holding nothing', 0, undefined],
    ['an agent holding exactly the most accepted', MAX_SYNC_HELD, undefined],
    [
      'one more than accepted',
      MAX_SYNC_HELD + 1,
      `the sync request holds ${MAX_SYNC_HELD + 1} bundles; at most ${MAX_SYNC_HELD} are accepted`,
    ],
    [
      'the 25,000 entries that stalled the hub',
      25_000,
      `the sync request holds 25000 bundles; at most ${MAX_SYNC_HELD} are accepted`,
    ],
  ])('%s', (_name, count, expected) => {
    expect(syncRequestProblem(new Array(count).fill({}))).toBe(expected);
  });
});
