import { describe, expect, it } from 'vitest';
import { type DeploymentFacts, effectiveDeploymentState } from './deployment-state.js';

const base: DeploymentFacts = {
  clusterState: 'Online',
  desiredRevision: 'r2',
  reportedRevision: 'r2',
  reportedState: 'Ready',
};

describe('effectiveDeploymentState', () => {
  it.each<{ name: string; facts: Partial<DeploymentFacts>; expected: string }>([
    { name: 'the agent reports the desired revision Ready → Ready', facts: {}, expected: 'Ready' },
    {
      name: 'an offline cluster is Offline whatever it last reported',
      facts: { clusterState: 'Offline' },
      expected: 'Offline',
    },
    {
      name: 'a report of an older revision is stale → Pending',
      facts: { reportedRevision: 'r1' },
      expected: 'Pending',
    },
    {
      name: 'no report yet → Pending',
      facts: { reportedRevision: null, reportedState: 'Pending' },
      expected: 'Pending',
    },
    {
      name: 'a cluster never connected is Pending',
      facts: { clusterState: 'Pending', reportedRevision: null },
      expected: 'Pending',
    },
    {
      name: 'ErrApplied at the desired revision shows',
      facts: { reportedState: 'ErrApplied' },
      expected: 'ErrApplied',
    },
    {
      name: 'NotReady at the desired revision shows',
      facts: { reportedState: 'NotReady' },
      expected: 'NotReady',
    },
    {
      name: 'drift at the desired revision is Modified',
      facts: { reportedState: 'Modified' },
      expected: 'Modified',
    },
    {
      name: 'held back by a rollout from a newer target → OutOfSync',
      facts: { heldBackFrom: 'r3' },
      expected: 'OutOfSync',
    },
    {
      name: 'a hold on the revision it already runs is no hold',
      facts: { heldBackFrom: 'r2' },
      expected: 'Ready',
    },
    {
      name: 'an unknown reported state is treated as Pending',
      facts: { reportedState: 'Weird' },
      expected: 'Pending',
    },
  ])('$name', ({ facts, expected }) => {
    expect(effectiveDeploymentState({ ...base, ...facts })).toBe(expected);
  });
});
