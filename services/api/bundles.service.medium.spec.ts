import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BundleRepository,
  ClusterRepository,
  DeploymentRepository,
  GitRepoRepository,
} from '../../libs/db/index.js';
import { SecretBox } from '../../libs/secrets/index.js';
import { gitRepoSpec, useMigratedDatabase } from '../../libs/testing/index.js';
import { BundlesService } from './bundles.service.js';
import { FleetSummaryCache } from './fleet-summary-cache.js';

const db = useMigratedDatabase();
let service: BundlesService;
const r1 = '1'.repeat(64);
const r2 = '2'.repeat(64);

beforeAll(async () => {
  const bundles = new BundleRepository(db.ds);
  const deployments = new DeploymentRepository(db.ds);
  const clusters = new ClusterRepository(db.ds);
  service = new BundlesService(
    bundles,
    deployments,
    clusters,
    new FleetSummaryCache(clusters, deployments),
  );
  for (const name of ['a', 'b', 'c', 'd']) await clusters.create(name, {});
  await new GitRepoRepository(db.ds, new SecretBox(randomBytes(32))).create('shop', gitRepoSpec());
  await bundles.save({
    name: 'shop/web',
    gitrepo: 'shop',
    dir: 'web',
    kind: 'manifests',
    commit: 'c1',
    options: {},
    rolloutStrategy: null,
    dependsOn: [],
    error: null,
    errorCommit: null,
  });
  await bundles.storeRevision(r1, Buffer.from('[{"kind":"ConfigMap"}]'));
  await bundles.storeRevision(r2, Buffer.from('[{"kind":"Secret"}]'));
  // Two variants (a customization that changes nothing) render the same revision.
  await bundles.recordRender('shop/web', 'c1', 'base', r1);
  await bundles.recordRender('shop/web', 'c1', 'dev', r1);
  await bundles.recordRender('shop/web', 'c1', 'prod', r2);
  await deployments.replaceTargets('shop/web', [
    { cluster: 'a', revision: r1, commit: 'c1', variantKey: 'base' },
    { cluster: 'b', revision: r1, commit: 'c1', variantKey: 'dev' },
    { cluster: 'c', revision: r2, commit: 'c1', variantKey: 'prod' },
    // Written before targets named their variant.
    { cluster: 'd', revision: r1, commit: 'c1' },
  ]);
});

describe('BundlesService variants', () => {
  it('lists each cluster under its own variant once, even when two variants share a revision', async () => {
    const { variants } = await service.get('shop/web');
    expect(variants).toEqual([
      { key: 'base', revision: r1, clusters: ['a', 'd'] },
      { key: 'dev', revision: r1, clusters: ['b'] },
      { key: 'prod', revision: r2, clusters: ['c'] },
    ]);
    const clusters = variants.flatMap((v) => v.clusters);
    expect(new Set(clusters).size).toBe(clusters.length);
  });

  it.each([
    ['base', ['a', 'd']],
    ['dev', ['b']],
  ])("the manifests of variant %s name only that variant's clusters", async (variant, clusters) => {
    const view = await service.manifests('shop/web', { variant });
    expect(view).toMatchObject({
      variant,
      revision: r1,
      clusters,
      objects: [{ kind: 'ConfigMap' }],
    });
  });
});
