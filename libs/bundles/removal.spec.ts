import { describe, expect, it } from 'vitest';
import type { BundleSource } from './bundle-source.js';
import { BundleError } from './errors.js';
import { foundInDiscovery, type KnownBundle, removableBundles } from './removal.js';

const COMMIT = 'abcdef1234567890';
const web: KnownBundle = { name: 'demo/web', dir: 'apps/web', commit: 'c1' };
const api: KnownBundle = { name: 'demo/api', dir: 'apps/api', commit: 'c1' };
const db: KnownBundle = { name: 'demo/db', dir: 'infra/db', commit: 'c1' };
const neverDeployed: KnownBundle = { name: 'demo/broken', dir: 'apps/broken', commit: null };

interface Row {
  paths: string[];
  existing: KnownBundle[];
  /** Bundles found at COMMIT (name and dir). */
  found: [string, string][];
  pathErrors?: string[];
  remove: string[];
  problems: RegExp[];
}

const rows: [string, Row][] = [
  [
    'a bundle deleted from a path that keeps others is removed',
    {
      paths: ['apps'],
      existing: [web, api],
      found: [['demo/web', 'apps/web']],
      remove: ['demo/api'],
      problems: [],
    },
  ],
  [
    'a path that lost every deployed bundle keeps them and says why',
    {
      paths: ['apps'],
      existing: [web, api],
      found: [],
      remove: [],
      problems: [/^path "apps" has no bundles at abcdef12 \(it had 2: demo\/web, demo\/api\)/],
    },
  ],
  [
    'a bundle that never deployed does not make a path "had bundles"',
    {
      paths: ['apps'],
      existing: [neverDeployed],
      found: [],
      remove: ['demo/broken'],
      problems: [],
    },
  ],
  [
    'only the emptied path is kept; another path loses a bundle normally',
    {
      paths: ['apps', 'infra'],
      existing: [web, db, { name: 'demo/cache', dir: 'infra/cache', commit: 'c1' }],
      found: [['demo/db', 'infra/db']],
      remove: ['demo/cache'],
      problems: [/^path "apps" has no bundles/],
    },
  ],
  [
    'a missing path removes nothing at all, on any path',
    {
      paths: ['aps', 'infra'],
      existing: [web, db],
      found: [['demo/db', 'infra/db']],
      pathErrors: ['GitRepo demo: path "aps": directory "aps" does not exist'],
      remove: [],
      problems: [/path "aps": directory "aps" does not exist; no bundle is removed .*\(1 kept\)/],
    },
  ],
  [
    'a missing path with nothing to remove says so',
    {
      paths: ['aps'],
      existing: [],
      found: [],
      pathErrors: ['GitRepo demo: path "aps": directory "aps" does not exist'],
      remove: [],
      problems: [/does not exist; nothing was removed$/],
    },
  ],
  [
    'bundles of a path removed from the GitRepo are removed',
    {
      paths: ['infra'],
      existing: [web, db],
      found: [['demo/db', 'infra/db']],
      remove: ['demo/web'],
      problems: [],
    },
  ],
  [
    'the repository root as path counts every bundle',
    {
      paths: [''],
      existing: [web],
      found: [],
      remove: [],
      problems: [/^path "" has no bundles/],
    },
  ],
  [
    'a bundle renamed within its path is an ordinary change',
    {
      paths: ['apps'],
      existing: [web],
      found: [['demo/site', 'apps/site']],
      remove: ['demo/web'],
      problems: [],
    },
  ],
];

describe('removableBundles', () => {
  it.each(rows)('%s', (_name, row) => {
    const result = removableBundles({
      paths: row.paths,
      existing: row.existing,
      found: new Set(row.found.map(([n]) => n)),
      foundDirs: row.found.map(([, d]) => d),
      pathErrors: row.pathErrors ?? [],
      commit: COMMIT,
    });
    expect(result.remove.sort()).toEqual([...row.remove].sort());
    expect(result.problems).toEqual(row.problems.map((p) => expect.stringMatching(p) as unknown));
  });
});

const source = (name: string, dir: string) => ({ name, dir }) as BundleSource;

const discoveries: [
  string,
  {
    bundles: BundleSource[];
    errors: BundleError[];
    found: string[];
    foundDirs: string[];
    pathErrors: string[];
    broken: string[];
  },
][] = [
  [
    'clean bundles only',
    {
      bundles: [source('demo/web', 'apps/web')],
      errors: [],
      found: ['demo/web'],
      foundDirs: ['apps/web'],
      pathErrors: [],
      broken: [],
    },
  ],
  [
    'a broken fleet.yaml counts as found, with its directory',
    {
      bundles: [source('demo/web', 'apps/web')],
      errors: [new BundleError('bad fleet.yaml', { bundle: 'demo/db', dir: 'apps/db' })],
      found: ['demo/web', 'demo/db'],
      foundDirs: ['apps/web', 'apps/db'],
      pathErrors: [],
      broken: ['demo/db'],
    },
  ],
  [
    'a broken bundle without a known directory adds no directory',
    {
      bundles: [],
      errors: [new BundleError('duplicate name', { bundle: 'demo/x' })],
      found: ['demo/x'],
      foundDirs: [],
      pathErrors: [],
      broken: ['demo/x'],
    },
  ],
  [
    'an error naming no bundle is a path problem',
    {
      bundles: [source('demo/web', 'apps/web')],
      errors: [new BundleError('path "nope" does not exist', { path: 'nope' })],
      found: ['demo/web'],
      foundDirs: ['apps/web'],
      pathErrors: ['path "nope" does not exist'],
      broken: [],
    },
  ],
];

describe('foundInDiscovery', () => {
  it.each(discoveries)('%s', (_name, row) => {
    const result = foundInDiscovery({ bundles: row.bundles, errors: row.errors });
    expect([...result.found]).toEqual(row.found);
    expect(result.foundDirs).toEqual(row.foundDirs);
    expect(result.pathErrors).toEqual(row.pathErrors);
    expect(result.broken.map((e) => e.bundle)).toEqual(row.broken);
  });
});
