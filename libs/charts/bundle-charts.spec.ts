import { describe, expect, it } from 'vitest';
import { chartSourcesOf, type ChartsOfFleet } from './bundle-charts.js';

describe('chartSourcesOf', () => {
  it.each<[string, ChartsOfFleet, unknown[]]>([
    ['a bundle without helm has none', {}, []],
    ['a local chart has none', { helm: { chart: 'charts/web' } }, []],
    [
      'a repository chart',
      { helm: { repo: 'https://c.example.com', chart: 'web', version: '1.x' } },
      [{ kind: 'repo', repo: 'https://c.example.com', chart: 'web', version: '1.x' }],
    ],
    [
      'a targetCustomization version over the bundle repo chart is another source',
      {
        helm: { repo: 'https://c.example.com', chart: 'web', version: '1.x' },
        targetCustomizations: [{ helm: { version: '2.x' } }, { helm: {} }, {}],
      },
      [
        { kind: 'repo', repo: 'https://c.example.com', chart: 'web', version: '1.x' },
        { kind: 'repo', repo: 'https://c.example.com', chart: 'web', version: '2.x' },
      ],
    ],
    [
      'a targetCustomization with an OCI chart over a local one',
      {
        helm: { chart: 'chart' },
        targetCustomizations: [{ helm: { chart: 'oci://r.example.com/c/web' } }],
      },
      [{ kind: 'oci', ref: 'oci://r.example.com/c/web' }],
    ],
    [
      'an invalid combination is left to rendering',
      { helm: { repo: 'https://c.example.com' } },
      [],
    ],
  ])('%s', (_name, fleet, expected) => {
    expect(chartSourcesOf(fleet)).toEqual(expected);
  });
});
