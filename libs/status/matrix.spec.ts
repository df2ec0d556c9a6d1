import { describe, expect, it } from 'vitest';
import { fleetMatrix } from './matrix.js';

const clusters: { name: string; labels: Record<string, string> }[] = [
  { name: 'eu-1', labels: { region: 'eu', env: 'prod' } },
  { name: 'eu-2', labels: { region: 'eu', env: 'dev' } },
  { name: 'us-1', labels: { region: 'us', env: 'prod' } },
  { name: 'edge-1', labels: {} },
];
const deployments = [
  { cluster: 'eu-1', bundle: 'demo/web', state: 'Ready' },
  { cluster: 'eu-2', bundle: 'demo/web', state: 'ErrApplied' },
  { cluster: 'us-1', bundle: 'demo/web', state: 'Ready' },
  { cluster: 'us-1', bundle: 'demo/api', state: 'NotReady' },
  { cluster: 'gone', bundle: 'demo/old', state: 'Ready' },
];

describe('fleetMatrix', () => {
  it.each([
    {
      name: 'one row per cluster, sorted, with a cell per bundle (empty where none)',
      options: {},
      rows: [
        ['edge-1', 1, [{}, {}]],
        ['eu-1', 1, [{}, { Ready: 1 }]],
        ['eu-2', 1, [{}, { ErrApplied: 1 }]],
        ['us-1', 1, [{ NotReady: 1 }, { Ready: 1 }]],
      ],
    },
    {
      name: 'grouped by a label: counts per state add up, clusters without it go to (none)',
      options: { groupBy: 'region' },
      rows: [
        ['(none)', 1, [{}, {}]],
        ['eu', 2, [{}, { Ready: 1, ErrApplied: 1 }]],
        ['us', 1, [{ NotReady: 1 }, { Ready: 1 }]],
      ],
    },
    {
      name: 'search keeps clusters whose name or a label value contains it, any case',
      options: { search: 'PROD' },
      rows: [
        ['eu-1', 1, [{}, { Ready: 1 }]],
        ['us-1', 1, [{ NotReady: 1 }, { Ready: 1 }]],
      ],
    },
  ])('$name', ({ options, rows }) => {
    const m = fleetMatrix(clusters, deployments, options);
    expect(m.rows.map((r) => [r.key, r.clusters, r.cells])).toEqual(rows);
  });

  it('lists only bundles deployed on the clusters shown, never deployments of other clusters', () => {
    const m = fleetMatrix(clusters, deployments, { search: 'eu-' });
    expect(m.bundles).toEqual(['demo/web']);
    expect(m.clusters).toBe(2);
  });
});
