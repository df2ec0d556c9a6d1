import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from './events.js';
import { NotificationRuleSpecSchema, ruleMatches, targetsFor } from './rules.js';

const offline: NotificationEvent = {
  id: 'e1',
  kind: 'ClusterOffline',
  severity: 'warning',
  message: 'eu-1 offline',
  at: '2026-01-01T00:00:00Z',
  cluster: 'eu-1',
  clusterLabels: { env: 'prod', region: 'eu' },
};
const rolloutFailed: NotificationEvent = {
  id: 'e2',
  kind: 'RolloutFailed',
  severity: 'error',
  message: 'web failed',
  at: '2026-01-01T00:00:00Z',
  gitrepo: 'shop',
  bundle: 'shop-web',
  commit: 'c1',
};
const rule = (fields: Record<string, unknown>) =>
  NotificationRuleSpecSchema.parse({ targets: ['t'], ...fields });

describe('ruleMatches', () => {
  it.each([
    ['an empty rule forwards everything', {}, offline, true],
    ['a kind listed', { kinds: ['ClusterOffline'] }, offline, true],
    ['a kind not listed', { kinds: ['ClusterOnline'] }, offline, false],
    ['severity at the minimum', { severity: 'warning' }, offline, true],
    ['severity below the minimum', { severity: 'error' }, offline, false],
    ['a GitRepo listed', { gitrepos: ['shop'] }, rolloutFailed, true],
    ['another GitRepo', { gitrepos: ['blog'] }, rolloutFailed, false],
    ['a GitRepo filter drops events of no GitRepo', { gitrepos: ['shop'] }, offline, false],
    ['a bundle listed', { bundles: ['shop-web'] }, rolloutFailed, true],
    ['another bundle', { bundles: ['shop-db'] }, rolloutFailed, false],
    [
      'a cluster matching the selector',
      { clusterSelector: 'env=prod,region in (eu)' },
      offline,
      true,
    ],
    ['a cluster not matching the selector', { clusterSelector: 'env=staging' }, offline, false],
    [
      'events about no cluster pass the selector',
      { clusterSelector: 'env=staging' },
      rolloutFailed,
      true,
    ],
  ])('%s', (_name, fields, event, expected) => {
    expect(ruleMatches(rule(fields), event)).toBe(expected);
  });
});

describe('targetsFor', () => {
  it('sends an event to each target of every matching rule, once', () => {
    const rules = [
      rule({ targets: ['slack', 'pager'], severity: 'warning' }),
      rule({ targets: ['slack'], kinds: ['ClusterOffline'] }),
      rule({ targets: ['github'], kinds: ['RolloutFailed'] }),
    ];
    expect(targetsFor(rules, offline)).toEqual(['pager', 'slack']);
  });
});

describe('NotificationRuleSpecSchema', () => {
  it.each([
    ['a rule needs a target', { targets: [] }, /at least one target/],
    ['an unknown kind', { targets: ['t'], kinds: ['Everything'] }, /kinds/],
    [
      'a selector that does not parse',
      { targets: ['t'], clusterSelector: 'env in (' },
      /clusterSelector/,
    ],
    ['an unknown field', { targets: ['t'], cluster: 'x' }, /cluster/],
  ])('refuses %s', (_name, input, message) => {
    const parsed = NotificationRuleSpecSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(message);
  });
});
