import { describe, expect, it } from 'vitest';
import { deploymentChangesOf } from './events.js';

const at = '2026-12-06T05:00:00.000Z';

describe('deploymentChangesOf: the deployments a deployment event is about', () => {
  it.each<[string, unknown, { bundle: string; cluster: string; state: string }[]]>([
    [
      'one event for several deployments of a cluster',
      {
        type: 'DeploymentsChanged',
        cluster: 'eu-1',
        deployments: [
          { bundle: 'demo/web', state: 'Ready' },
          { bundle: 'demo/db', state: 'NotReady' },
        ],
        at,
      },
      [
        { bundle: 'demo/web', cluster: 'eu-1', state: 'Ready' },
        { bundle: 'demo/db', cluster: 'eu-1', state: 'NotReady' },
      ],
    ],
    [
      'the single event of earlier hubs',
      { type: 'DeploymentChanged', bundle: 'demo/web', cluster: 'eu-1', state: 'Ready', at },
      [{ bundle: 'demo/web', cluster: 'eu-1', state: 'Ready' }],
    ],
    [
      'entries without a bundle are skipped',
      {
        type: 'DeploymentsChanged',
        cluster: 'eu-1',
        deployments: [null, { state: 'Ready' }, { bundle: 'a', state: 'Ready' }],
        at,
      },
      [{ bundle: 'a', cluster: 'eu-1', state: 'Ready' }],
    ],
    ['no cluster', { type: 'DeploymentsChanged', deployments: [{ bundle: 'a' }], at }, []],
    ['deployments not a list', { type: 'DeploymentsChanged', cluster: 'c', deployments: {} }, []],
    ['a single event without a bundle', { type: 'DeploymentChanged', cluster: 'eu-1' }, []],
    ['another event type', { type: 'Registered', cluster: 'eu-1' }, []],
    ['not an object', 'DeploymentsChanged', []],
    ['nothing (unparsable JSON)', undefined, []],
  ])('%s', (_name, event, expected) => {
    const changes = deploymentChangesOf(event);
    expect(changes.map(({ bundle, cluster, state }) => ({ bundle, cluster, state }))).toEqual(
      expected,
    );
    for (const c of changes) expect(c.at).toEqual(expect.any(String));
  });

  it('keeps the time the hub wrote the change', () => {
    expect(
      deploymentChangesOf({ type: 'DeploymentChanged', bundle: 'a', cluster: 'c', at })[0]?.at,
    ).toBe(at);
  });
});
