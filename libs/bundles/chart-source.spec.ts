import { describe, expect, it } from 'vitest';
import { chartSource, describeChartSource, type ChartFields } from './chart-source.js';

describe('chartSource (Fleet helm.chart / helm.repo / helm.version)', () => {
  it.each<[string, ChartFields, ReturnType<typeof chartSource>]>([
    ['no chart at all is the bundle dir', {}, { kind: 'path', path: '' }],
    ['an empty chart is the bundle dir', { chart: '' }, { kind: 'path', path: '' }],
    ['a relative chart is a path', { chart: 'charts/web' }, { kind: 'path', path: 'charts/web' }],
    [
      'repo + chart name is a repository chart, newest when no version',
      { repo: 'https://charts.example.com', chart: 'nginx' },
      { kind: 'repo', repo: 'https://charts.example.com', chart: 'nginx' },
    ],
    [
      'repo + chart + exact version',
      { repo: 'https://charts.example.com/stable/', chart: 'nginx', version: '1.2.3' },
      {
        kind: 'repo',
        repo: 'https://charts.example.com/stable/',
        chart: 'nginx',
        version: '1.2.3',
      },
    ],
    [
      'repo + chart + semver range',
      { repo: 'https://charts.example.com', chart: 'nginx', version: '^1.2.0' },
      { kind: 'repo', repo: 'https://charts.example.com', chart: 'nginx', version: '^1.2.0' },
    ],
    [
      'an empty version is no version',
      { repo: 'https://charts.example.com', chart: 'nginx', version: '' },
      { kind: 'repo', repo: 'https://charts.example.com', chart: 'nginx' },
    ],
    [
      'an oci:// chart is an OCI reference',
      { chart: 'oci://ghcr.io/org/charts/web', version: '0.1.x' },
      { kind: 'oci', ref: 'oci://ghcr.io/org/charts/web', version: '0.1.x' },
    ],
    [
      'an oci:// repo is the full reference (Fleet HelmOps form), chart may be empty',
      { repo: 'oci://ghcr.io/org/charts/web', chart: '', version: '>=1.0.0 <2.0.0' },
      { kind: 'oci', ref: 'oci://ghcr.io/org/charts/web', version: '>=1.0.0 <2.0.0' },
    ],
    [
      'an oci:// repo with the chart name repeated',
      { repo: 'oci://ghcr.io/org/charts/web', chart: 'web' },
      { kind: 'oci', ref: 'oci://ghcr.io/org/charts/web' },
    ],
    [
      'an https .tgz URL is a chart archive',
      { chart: 'https://example.com/releases/guestbook-0.1.0.tgz' },
      { kind: 'url', url: 'https://example.com/releases/guestbook-0.1.0.tgz' },
    ],
  ])('%s', (_name, fields, expected) => {
    expect(chartSource(fields)).toEqual(expected);
  });

  it.each<[string, ChartFields, RegExp]>([
    [
      'repo without chart name',
      { repo: 'https://charts.example.com' },
      /helm\.chart: is required with helm\.repo/,
    ],
    [
      'repo that is not a URL',
      { repo: 'charts.example.com', chart: 'x' },
      /helm\.repo: .*https:\/\//,
    ],
    ['repo with a ftp URL', { repo: 'ftp://charts.example.com', chart: 'x' }, /helm\.repo/],
    [
      'chart name with a path under a repo',
      { repo: 'https://c.example.com', chart: 'a/b' },
      /name of a chart/,
    ],
    ['malformed oci reference', { chart: 'oci://ghcr.io' }, /not an OCI reference/],
    [
      'oci repo naming another chart',
      { repo: 'oci://ghcr.io/org/web', chart: 'api' },
      /must be empty/,
    ],
    [
      'version that is no version',
      { repo: 'https://c.example.com', chart: 'x', version: 'latest-ish' },
      /helm\.version: .*semver range/,
    ],
    [
      'version on a local chart',
      { chart: 'charts/web', version: '1.0.0' },
      /helm\.version: applies to charts from helm\.repo/,
    ],
    [
      'version on a chart archive URL',
      { chart: 'https://e.com/c.tgz', version: '1.0.0' },
      /helm\.version: has no meaning/,
    ],
    [
      'go-getter source',
      { chart: 'git::https://github.com/x/y' },
      /go-getter sources are not supported/,
    ],
    ['another URL scheme', { chart: 's3://bucket/chart.tgz' }, /only https:\/\//],
  ])('refuses %s', (_name, fields, message) => {
    expect(() => chartSource(fields)).toThrow(message);
  });

  it.each([
    [{ kind: 'path', path: '' } as const, 'chart "."'],
    [
      { kind: 'repo', repo: 'https://c', chart: 'n', version: '1.x' } as const,
      'chart n 1.x from https://c',
    ],
    [{ kind: 'oci', ref: 'oci://r/p/c' } as const, 'chart oci://r/p/c'],
    [{ kind: 'url', url: 'https://e/c.tgz' } as const, 'chart https://e/c.tgz'],
  ])('describes %j as %s', (source, text) => {
    expect(describeChartSource(source)).toBe(text);
  });
});
