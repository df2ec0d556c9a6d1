import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFleetYaml } from '../../bundles/fleet-yaml.js';
import { SecretBox } from '../../secrets/index.js';
import { gitRepoSpec, useMigratedDatabase } from '../../testing/index.js';
import type { BundleEntity } from '../entities/bundle.entity.js';
import { NotFoundError } from '../errors.js';
import { BundleRepository } from './bundle.repository.js';
import { GitRepoRepository } from './gitrepo.repository.js';

const db = useMigratedDatabase();
let bundles: BundleRepository;
let repos: GitRepoRepository;

type BundleInput = Parameters<BundleRepository['save']>[0];
const bundle = (gitrepo: string, dir: string, over: Partial<BundleInput> = {}): BundleInput => ({
  name: `${gitrepo}/${dir}`,
  gitrepo,
  dir,
  kind: 'manifests',
  commit: 'c1',
  options: {},
  rolloutStrategy: null,
  dependsOn: [],
  error: null,
  errorCommit: null,
  ...over,
});

beforeAll(async () => {
  repos = new GitRepoRepository(db.ds, new SecretBox(randomBytes(32)));
  for (const name of ['shop', 'infra', 'gone']) await repos.create(name, gitRepoSpec());
  bundles = new BundleRepository(db.ds);
  await bundles.save(bundle('shop', 'web', { dependsOn: [{ name: 'db' }, { name: 'infra/dns' }] }));
  await bundles.save(bundle('shop', 'db', { options: { namespace: 'data' } }));
  await bundles.save(bundle('infra', 'dns', { kind: 'helm' }));
});

describe('BundleRepository', () => {
  it('saves a bundle and reads it back; saving again updates it', async () => {
    const strategy = { stages: [{ name: 'canary', clusters: ['c1'] }] };
    await bundles.save(bundle('shop', 'api', { rolloutStrategy: strategy, commit: 'c1' }));
    await bundles.save(bundle('shop', 'api', { rolloutStrategy: strategy, commit: 'c2' }));
    const got = await bundles.get('shop/api');
    expect(got).toMatchObject({
      name: 'shop/api',
      gitrepo: 'shop',
      dir: 'api',
      commit: 'c2',
      rolloutStrategy: strategy,
      charts: [],
    });
    await expect(bundles.get('shop/none')).rejects.toBeInstanceOf(NotFoundError);
  });

  it.each([
    [
      'stages with every field',
      `{stages: [{name: canary, clusterSelector: {matchLabels: {ring: a}},
      maxUnavailable: 1, bakeTime: 10m, requireApproval: true}, {name: eu, clusterGroup: eu,
      maxUnavailable: 25%}, {name: us, clusters: [us-1]}], maxFailures: 2, progressDeadline: 1h,
      onFailure: rollback}`,
    ],
    [
      "Fleet's partitions, stored as stages",
      `{maxUnavailable: 10%, maxUnavailablePartitions: 0,
      partitions: [{name: canary, maxUnavailable: 1}, {clusterGroup: eu}, {clusterName: us-1}]}`,
    ],
    [
      'durations of seconds and milliseconds',
      '{progressDeadline: 30s, stages: [{name: a, bakeTime: 500ms}]}',
    ],
    ['onFailure left to its default', '{stages: [{name: all}]}'],
    ['no fields', '{}'],
  ])('reads a stored rolloutStrategy with %s back as stored, typed', async (_name, yaml) => {
    const strategy = parseFleetYaml(
      `rolloutStrategy: ${yaml}\n`,
      'strategy/fleet.yaml',
    ).rolloutStrategy!;
    await bundles.save(bundle('shop', 'strategy', { rolloutStrategy: strategy }));
    expect((await bundles.get('shop/strategy')).rolloutStrategy).toEqual(strategy);
    const listed = await bundles.list({ limit: 100 }, 'shop');
    expect(listed.items.find((b) => b.name === 'shop/strategy')?.rolloutStrategy).toEqual(strategy);
    await bundles.deleteMany(['shop/strategy']);
  });

  it('fills in the defaults of a stored strategy written without them', async () => {
    await bundles.save(bundle('shop', 'bare', { rolloutStrategy: { stages: [{ name: 'a' }] } }));
    expect((await bundles.get('shop/bare')).rolloutStrategy).toEqual({
      stages: [{ name: 'a', requireApproval: false }],
      onFailure: 'pause',
    });
    await bundles.deleteMany(['shop/bare']);
  });

  it('a stored rolloutStrategy that does not match its schema is an error naming the bundle', async () => {
    await bundles.save(
      bundle('shop', 'bad', { rolloutStrategy: { stages: [{ bakeTime: 'soon' }] } }),
    );
    await expect(bundles.get('shop/bad')).rejects.toThrow(
      /bundle shop\/bad: the stored rolloutStrategy does not match its schema/,
    );
    await expect(bundles.ofRepo('shop')).rejects.toThrow(/bundle shop\/bad/);
    await bundles.deleteMany(['shop/bad']);
  });

  it.each<[string, string | undefined, number, string[][]]>([
    [
      'every bundle by name, a page at a time',
      undefined,
      2,
      [
        ['infra/dns', 'shop/api'],
        ['shop/db', 'shop/web'],
      ],
    ],
    ['the bundles of one GitRepo', 'shop', 10, [['shop/api', 'shop/db', 'shop/web']]],
    ['none of a GitRepo without bundles', 'gone', 10, [[]]],
  ])('lists %s', async (_name, gitrepo, limit, pages) => {
    const seen: string[][] = [];
    let after: string | undefined;
    do {
      const page = await bundles.list({ limit, ...(after ? { after } : {}) }, gitrepo);
      seen.push(page.items.map((b) => b.name));
      after = page.continue === undefined ? undefined : page.items.at(-1)!.name;
    } while (after !== undefined);
    expect(seen).toEqual(pages);
  });

  it('a render error keeps the last good commit and takes the kind the bundle has now', async () => {
    await bundles.recordError('shop/db', 'shop', 'db', 'kustomize', 'line 3: invalid YAML', 'c9');
    expect(await bundles.get('shop/db')).toMatchObject({
      commit: 'c1',
      kind: 'kustomize',
      error: 'line 3: invalid YAML',
      errorCommit: 'c9',
      options: { namespace: 'data' },
    });
    // A bundle that never resolved is recorded by its error alone.
    await bundles.recordError('shop/new', 'shop', 'new', 'helm', 'no chart', 'c9');
    expect(await bundles.get('shop/new')).toMatchObject({ commit: null, error: 'no chart' });
    await bundles.deleteMany(['shop/new']);
  });

  it('names dependencies in full: within the GitRepo by name, elsewhere by repo/dir', async () => {
    expect(await bundles.dependents()).toEqual([
      { name: 'shop/web', dependsOn: ['shop/db', 'infra/dns'] },
    ]);
  });

  it('records the charts a bundle was rendered from without touching the rest', async () => {
    const charts: BundleEntity['charts'] = [
      { from: 'https://charts.example.com', name: 'dns', version: '1.2.3', digest: 'sha256:ab' },
    ];
    await bundles.recordCharts('infra/dns', charts);
    expect(await bundles.get('infra/dns')).toMatchObject({ charts, kind: 'helm', commit: 'c1' });
  });

  it('stores each revision once and answers its content, digest and size', async () => {
    const content = Buffer.from('kind: ConfigMap\n');
    await bundles.storeRevision('rev-a', content);
    await bundles.storeRevision('rev-a', Buffer.from('other content, same id'));
    expect(await bundles.revisionContent('rev-a')).toEqual(content);
    expect(await bundles.revisionContent('rev-none')).toBeUndefined();
    const sha = createHash('sha256').update(content).digest('hex');
    expect(await bundles.revisionDigests(['rev-a', 'rev-none'])).toEqual(new Map([['rev-a', sha]]));
    expect(await bundles.revisionSizes(['rev-a'])).toEqual(new Map([['rev-a', content.length]]));
    expect(await bundles.revisionSizes([])).toEqual(new Map());
  });

  it('memoizes one render per bundle, commit and variant; the first one stays', async () => {
    await bundles.storeRevision('rev-b', Buffer.from('b'));
    await bundles.recordRender('shop/web', 'c1', 'eu', 'rev-a');
    await bundles.recordRender('shop/web', 'c1', 'eu', 'rev-b');
    await bundles.recordRender('shop/web', 'c1', 'default', 'rev-b');
    await bundles.recordRender('shop/web', 'c2', 'eu', 'rev-b');
    expect(await bundles.renderedVariants('shop/web', 'c1')).toEqual(
      new Map([
        ['eu', 'rev-a'],
        ['default', 'rev-b'],
      ]),
    );
    expect(await bundles.variantsAt('shop/web', 'c1')).toEqual([
      { key: 'default', revision: 'rev-b' },
      { key: 'eu', revision: 'rev-a' },
    ]);
  });

  it('deleting a GitRepo deletes its bundles', async () => {
    await bundles.save(bundle('gone', 'app'));
    await repos.delete('gone');
    await expect(bundles.get('gone/app')).rejects.toBeInstanceOf(NotFoundError);
    expect(await bundles.ofRepo('gone')).toEqual([]);
    expect((await bundles.ofRepo('shop')).map((b) => b.name)).toEqual([
      'shop/api',
      'shop/db',
      'shop/web',
    ]);
  });
});
