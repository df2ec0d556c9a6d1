import { describe, expect, it } from 'vitest';
import { archiveUrl, findEntry, indexUrl, parseRepoIndex, pickVersion } from './repo-index.js';

describe('pickVersion (Helm version resolution)', () => {
  const available = ['2.0.0-rc.1', '1.10.0', '1.9.3', '1.2.0', '1.1.0', '0.9.0', 'v3-legacy'];
  it.each<[string, string | undefined, string | undefined]>([
    ['no version picks the newest stable version, not a prerelease', undefined, '1.10.0'],
    ['an empty version is no version', '', '1.10.0'],
    ['an exact version picks itself', '1.2.0', '1.2.0'],
    ['an exact version that is not listed picks nothing', '1.3.0', undefined],
    ['a caret range picks the highest compatible (10 > 9 numerically)', '^1.2.0', '1.10.0'],
    ['a tilde range stays within the minor', '~1.9.0', '1.9.3'],
    ['an x-range', '1.1.x', '1.1.0'],
    ['a two-sided range', '>=1.0.0 <1.5.0', '1.2.0'],
    ['a range that excludes everything', '>=3.0.0', undefined],
    ['a range naming a prerelease may pick it', '>=2.0.0-rc.0', '2.0.0-rc.1'],
    ['an exact prerelease', '2.0.0-rc.1', '2.0.0-rc.1'],
    ['a non-semver version is matched only exactly', 'v3-legacy', 'v3-legacy'],
    ['a malformed range picks nothing', '>>>', undefined],
  ])('%s', (_name, wanted, expected) => {
    expect(pickVersion(available, wanted)).toBe(expected);
  });

  it('a v-prefixed version in the repository satisfies a range', () => {
    expect(pickVersion(['v1.0.0', 'v1.1.0'], '^1.0.0')).toBe('v1.1.0');
  });
});

const INDEX = `apiVersion: v1
entries:
  web:
  - apiVersion: v2
    name: web
    version: 1.1.0
    digest: ${'a'.repeat(64)}
    urls:
    - web-1.1.0.tgz
  - apiVersion: v2
    name: web
    version: 1.0.0
    digest: sha256:${'B'.repeat(64)}
    urls:
    - https://cdn.example.com/charts/web-1.0.0.tgz
  - name: web
    version: 0.1.0
    urls: []
  api:
  - name: api
    version: 0.1.0
    urls: [charts/api-0.1.0.tgz]
generated: "2026-01-01T00:00:00Z"
`;

describe('parseRepoIndex', () => {
  it('reads entries, digests (with or without sha256: prefix) and skips entries without URLs', () => {
    const index = parseRepoIndex(INDEX, 'repo');
    expect(index.get('web')).toEqual([
      { name: 'web', version: '1.1.0', digest: 'a'.repeat(64), urls: ['web-1.1.0.tgz'] },
      {
        name: 'web',
        version: '1.0.0',
        digest: 'b'.repeat(64),
        urls: ['https://cdn.example.com/charts/web-1.0.0.tgz'],
      },
    ]);
    expect(index.get('api')?.[0]?.digest).toBeUndefined();
  });

  it('reads an index served as JSON', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      entries: { x: [{ version: '1.0.0', urls: ['x.tgz'] }] },
    });
    expect(parseRepoIndex(json, 'repo').get('x')?.[0]?.version).toBe('1.0.0');
  });

  it.each([
    [
      'an HTML page',
      '<html><body>Not a repo</body></html>',
      /no "entries"; is this a Helm repository/,
    ],
    ['broken YAML', 'entries: [unclosed', /not valid YAML/],
    ['an empty file', '', /no "entries"/],
  ])('refuses %s with a clear message', (_name, text, message) => {
    expect(() => parseRepoIndex(text, 'repository https://c.example.com/')).toThrow(message);
  });
});

describe('findEntry', () => {
  const index = parseRepoIndex(INDEX, 'repo');
  it.each<[string, string, string | undefined, string | RegExp]>([
    ['picks by range', 'web', '^1.0.0', '1.1.0'],
    ['picks exact', 'web', '1.0.0', '1.0.0'],
    ['names the missing chart', 'nginx', undefined, /has no chart "nginx"/],
    [
      'lists available versions when none matches',
      'web',
      '^2.0.0',
      /no version "\^2.0.0" \(available: 1.1.0, 1.0.0\)/,
    ],
  ])('%s', (_name, chart, wanted, expected) => {
    if (typeof expected === 'string') {
      expect(findEntry(index, chart, wanted, 'repo').version).toBe(expected);
    } else {
      expect(() => findEntry(index, chart, wanted, 'repo')).toThrow(expected);
    }
  });
});

describe('archive and index URLs', () => {
  it.each([
    ['https://c.example.com/stable', 'web-1.0.0.tgz', 'https://c.example.com/stable/web-1.0.0.tgz'],
    [
      'https://c.example.com/stable/',
      'web-1.0.0.tgz',
      'https://c.example.com/stable/web-1.0.0.tgz',
    ],
    [
      'https://c.example.com/stable/',
      'https://cdn.example.com/w.tgz',
      'https://cdn.example.com/w.tgz',
    ],
    ['https://c.example.com/stable/', '/abs/w.tgz', 'https://c.example.com/abs/w.tgz'],
  ])('%s + %s → %s', (repo, url, expected) => {
    expect(archiveUrl(repo, { name: 'w', version: '1', urls: [url] }).toString()).toBe(expected);
  });

  it('index.yaml is under the repository URL with or without a trailing slash', () => {
    expect(indexUrl('https://c.example.com/a').toString()).toBe(
      'https://c.example.com/a/index.yaml',
    );
    expect(indexUrl('https://c.example.com/a/').toString()).toBe(
      'https://c.example.com/a/index.yaml',
    );
  });
});
