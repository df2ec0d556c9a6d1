import { describe, expect, it } from 'vitest';
import { parseSelector } from '../selectors/index.js';
import { isTargeted, type ClusterRef, type TargetRef } from './targeting.js';

const groups = { canaries: parseSelector('ring=canary'), eu: parseSelector('region in (eu)') };
const prodEu: ClusterRef = { name: 'eu-1', labels: { env: 'prod', region: 'eu', ring: 'canary' } };
const devUs: ClusterRef = { name: 'us-1', labels: { env: 'dev', region: 'us' } };
const all: TargetRef = { clusterSelector: {} };

describe('isTargeted', () => {
  it.each<[string, ClusterRef, TargetRef[], TargetRef[], boolean, string[]?]>([
    ['an empty GitRepo target list matches nothing', prodEu, [], [], false],
    ['an empty selector on the GitRepo matches every cluster', devUs, [all], [], true],
    [
      'GitRepo selector matches by labels',
      prodEu,
      [{ clusterSelector: { matchLabels: { env: 'prod' } } }],
      [],
      true,
    ],
    [
      'GitRepo selector rejects other labels',
      devUs,
      [{ clusterSelector: { matchLabels: { env: 'prod' } } }],
      [],
      false,
    ],
    [
      'any one of several GitRepo targets is enough',
      devUs,
      [{ clusterName: 'x' }, { clusterName: 'us-1' }],
      [],
      true,
    ],
    ['cluster group membership matches', prodEu, [{ clusterGroup: 'canaries' }], [], true],
    ['cluster group non-membership does not', devUs, [{ clusterGroup: 'canaries' }], [], false],
    ['cluster name matches', devUs, [{ clusterName: 'us-1' }], [], true],
    [
      'fleet.yaml targets narrow the GitRepo targets',
      devUs,
      [all],
      [{ clusterSelector: { matchLabels: { env: 'prod' } } }],
      false,
    ],
    ['fleet.yaml targets pass a matching cluster', prodEu, [all], [{ clusterGroup: 'eu' }], true],
    [
      'fleet.yaml targets cannot widen the GitRepo targets',
      devUs,
      [{ clusterName: 'eu-1' }],
      [{ clusterName: 'us-1' }],
      false,
    ],
    [
      'all fields of one target must hold',
      prodEu,
      [{ clusterGroup: 'eu', clusterName: 'other' }],
      [],
      false,
    ],
    ['a target without fields matches nothing', prodEu, [{}], [], false],
    [
      'an empty clusterGroupSelector matches a cluster in some group (Fleet)',
      prodEu,
      [{ clusterGroupSelector: {} }],
      [],
      true,
    ],
    [
      'an empty clusterGroupSelector does not match a cluster in no group',
      { name: 'lonely', labels: {} },
      [{ clusterGroupSelector: {} }],
      [],
      false,
    ],
    [
      'a clusterGroupSelector with labels matches no group (groups carry no labels)',
      prodEu,
      [{ clusterGroupSelector: { matchLabels: { tier: 'gold' } } }],
      [],
      false,
    ],
    [
      'an unknown group matches nothing and is reported',
      prodEu,
      [{ clusterGroup: 'nope' }],
      [],
      false,
      ['unknown cluster group "nope": its targets match no cluster'],
    ],
    [
      'an unknown group is reported even when another target matches',
      prodEu,
      [all],
      [{ clusterGroup: 'eu' }, { clusterGroup: 'gone' }],
      true,
      ['unknown cluster group "gone": its targets match no cluster'],
    ],
  ])('%s', (_name, cluster, repo, bundle, targeted, warnings = []) => {
    expect(isTargeted(cluster, repo, bundle, groups)).toEqual({ targeted, warnings });
  });
});
