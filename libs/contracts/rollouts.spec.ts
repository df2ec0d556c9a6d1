import { describe, expect, it } from 'vitest';
import { rolloutRecord } from '../testing/rollout-record.js';
import { RolloutRecordSchema, RolloutRevisionsSchema } from './rollouts.js';

const record = rolloutRecord();

describe('RolloutRecordSchema: what a stored rollout record may hold', () => {
  it.each<[string, unknown, boolean]>([
    ['a record the planner wrote', record, true],
    ['a first deployment (no revision before)', { ...record, fromRevision: null }, true],
    ['a record paused by an operator', { ...record, state: 'Paused', pausedBy: 'alice' }, true],
    ['a record in an unknown state', { ...record, state: 'Exploded' }, false],
    ['a record without its stages', { ...record, stages: undefined }, false],
    [
      'a stage in an unknown state',
      { ...record, stages: [{ ...record.stages[0], state: 'Sleeping' }] },
      false,
    ],
    [
      'a cluster in an unknown state',
      { ...record, clusters: { c1: { state: 'Lost', stage: 'canary', since: 0 } } },
      false,
    ],
    ['a negative failure count', { ...record, failures: -1 }, false],
    ['times as text', { ...record, createdAt: '2026-12-07T02:00:00Z' }, false],
    ['not an object', 'Progressing', false],
  ])('%s', (_name, stored, accepted) => {
    expect(RolloutRecordSchema.safeParse(stored).success).toBe(accepted);
  });

  it('reads a stored record back as it was written', () => {
    expect(RolloutRecordSchema.parse(JSON.parse(JSON.stringify(record)))).toEqual(record);
  });
});

describe('RolloutRevisionsSchema: the revisions each cluster moves between', () => {
  it.each<[string, unknown, boolean]>([
    ['from one revision to another', { c1: { from: 'r1', to: 'r2' } }, true],
    ['a first deployment', { c1: { from: null, to: 'r2' } }, true],
    ['no target revision', { c1: { from: 'r1' } }, false],
  ])('%s', (_name, stored, accepted) => {
    expect(RolloutRevisionsSchema.safeParse(stored).success).toBe(accepted);
  });
});
