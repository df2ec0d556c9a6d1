// The API's summaries (GET /api/v1/status, GitRepos, bundles, the gRPC watch) read one cached
// GROUP BY of the fleet's deployments (FleetSummaryCache), on a real PostgreSQL: the counts agree
// with counting in SQL, follow changes once the cache refreshes, carry computedAt, and many
// callers share one count query.
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Subjects } from '../../libs/contracts/index.js';
import {
  BundleRepository,
  ClusterRepository,
  DeploymentRepository,
  GitRepoRepository,
} from '../../libs/db/index.js';
import { SecretBox } from '../../libs/secrets/index.js';
import { eventually, gitRepoSpec, useMigratedDatabase } from '../../libs/testing/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { BundlesService } from './bundles.service.js';
import { FleetStatusService } from './fleet-status.service.js';
import { FleetSummaryCache } from './fleet-summary-cache.js';
import { deploymentView } from './fleet-summary.js';
import { GitReposService } from './gitrepos.service.js';

const db = useMigratedDatabase();
const rev = 'a'.repeat(64);
const CLUSTERS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
const REPOS: Record<string, string[]> = { shop: ['shop/api', 'shop/web'], blog: ['blog/site'] };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let deployments: DeploymentRepository;
let bundleRepo: BundleRepository;

/** The services as the api module builds them, on one summary cache (NATS is not used here). */
function services(headSize?: number) {
  const clusters = new ClusterRepository(db.ds);
  const summaries = new FleetSummaryCache(clusters, deployments, headSize);
  const box = new SecretBox(randomBytes(32));
  return {
    summaries,
    status: new FleetStatusService(
      undefined as unknown as NatsConnection,
      undefined as unknown as Subjects,
      summaries,
    ),
    gitrepos: new GitReposService(
      undefined as unknown as NatsConnection,
      undefined as unknown as Subjects,
      {} as ResolvedHubConfig,
      new GitRepoRepository(db.ds, box),
      bundleRepo,
      summaries,
    ),
    bundles: new BundlesService(bundleRepo, deployments, clusters, summaries),
  };
}

beforeAll(async () => {
  deployments = new DeploymentRepository(db.ds);
  bundleRepo = new BundleRepository(db.ds);
  const clusters = new ClusterRepository(db.ds);
  for (const c of CLUSTERS) await clusters.create(c, {});
  await db.ds.query(`UPDATE clusters SET state = 'Online'`);
  await bundleRepo.storeRevision(rev, Buffer.from('[]'));
  const repos = new GitRepoRepository(db.ds, new SecretBox(randomBytes(32)));
  for (const [repo, bundles] of Object.entries(REPOS)) {
    await repos.create(repo, gitRepoSpec());
    for (const name of bundles) {
      await bundleRepo.save({
        name,
        gitrepo: repo,
        dir: name.split('/')[1]!,
        kind: 'manifests',
        commit: 'c1',
        options: {},
        rolloutStrategy: null,
        dependsOn: [],
        error: null,
        errorCommit: null,
      });
      await deployments.replaceTargets(
        name,
        CLUSTERS.map((cluster) => ({ cluster, revision: rev, commit: 'c1' })),
      );
      await deployments.deliverTargets(name);
    }
  }
  // Everything applied and Ready, except shop/web on c6 (WaitApplied) and blog/site on c5
  // (NotReady).
  await db.ds.query(`UPDATE deployments SET applied_revision = desired_revision, state = 'Ready'`);
  await setState('shop/web', 'c6', 'WaitApplied');
  await setState('blog/site', 'c5', 'NotReady');
});

async function setState(bundle: string, cluster: string, state: string): Promise<void> {
  await db.ds.query('UPDATE deployments SET state = $3 WHERE bundle = $1 AND cluster = $2', [
    bundle,
    cluster,
    state,
  ]);
}

/** What counting in SQL says now, as a summary. */
async function counted(bundles?: string[]) {
  const byState = await deployments.countByState(bundles);
  const total = Object.values(byState).reduce((a, b) => a + b, 0);
  return { desired: total, ready: byState.Ready ?? 0, byState };
}

describe('the API summaries from the summary cache', () => {
  it('agree with counting in SQL, for the fleet, every GitRepo and every bundle, with computedAt', async () => {
    const s = services();
    const status = await s.status.statusPage({ limit: 500 });
    const fleet = await counted();
    expect(status.deployments).toEqual({ total: fleet.desired, byState: fleet.byState });
    expect(status.clusters).toEqual({ total: 6, online: 6, offline: 0, pending: 0 });
    expect(status.nonReadyTotal).toBe(2);
    expect(status.computedAt).toMatch(ISO);

    const repos = await s.gitrepos.list({ limit: 10 });
    expect(repos.items.map((r) => r.name)).toEqual(['blog', 'shop']);
    for (const r of repos.items) {
      const { computedAt, ...summary } = r.status.summary;
      expect(summary).toEqual(await counted(REPOS[r.name]));
      expect(computedAt).toMatch(ISO);
    }
    const one = await s.gitrepos.get('shop');
    expect(one.status.summary).toMatchObject(await counted(REPOS.shop));

    const bundles = await s.bundles.list({ limit: 10 });
    expect(bundles.items.map((b) => b.name)).toEqual(['blog/site', 'shop/api', 'shop/web']);
    for (const b of bundles.items) {
      const { computedAt, ...summary } = b.summary;
      expect(summary).toEqual(await counted([b.name]));
      expect(computedAt).toMatch(ISO);
    }
  });

  it('many callers at once share one count query', async () => {
    const s = services();
    await Promise.all([
      ...Array.from({ length: 10 }, () => s.status.statusPage({ limit: 10 })),
      ...Array.from({ length: 10 }, () => s.gitrepos.list({ limit: 10 })),
      ...Array.from({ length: 10 }, () => s.bundles.list({ limit: 10 })),
    ]);
    expect(s.summaries.countComputations).toBe(1);
  });

  it('follows a change once the cache refreshes, in the counts, the summaries and the non-ready list', async () => {
    const s = services();
    const before = await s.status.statusPage({ limit: 500 });
    expect(before.deployments.byState.ErrApplied).toBeUndefined();
    await setState('shop/api', 'c2', 'ErrApplied');
    const after = await eventually(
      'the status counts the ErrApplied deployment',
      () => s.status.statusPage({ limit: 500 }),
      (st) => st.deployments.byState.ErrApplied === 1,
    );
    // The page was read with the counts: it agrees with them.
    expect(after.nonReady).toHaveLength(after.nonReadyTotal);
    expect(Date.parse(after.computedAt)).toBeGreaterThan(Date.parse(before.computedAt));
    expect(after.deployments).toEqual({
      total: (await counted()).desired,
      byState: (await counted()).byState,
    });
    // Worst first, as the list in SQL has it.
    expect(after.nonReady.map((d) => [d.state, d.cluster, d.bundle])).toEqual([
      ['ErrApplied', 'c2', 'shop/api'],
      ['WaitApplied', 'c6', 'shop/web'],
      ['NotReady', 'c5', 'blog/site'],
    ]);
    const repos = await s.gitrepos.list({ limit: 10 });
    const summary = (name: string) => {
      const { computedAt: _, ...rest } = repos.items.find((r) => r.name === name)!.status.summary;
      return rest;
    };
    expect(summary('shop')).toEqual(await counted(REPOS.shop));
    expect(summary('shop').byState.ErrApplied).toBe(1);
    expect(summary('blog')).toEqual(await counted(REPOS.blog));
    await setState('shop/api', 'c2', 'Ready');
    await eventually(
      'the bundle summary counts it Ready again',
      () => s.bundles.list({ limit: 10 }),
      (l) => l.items.find((b) => b.name === 'shop/api')!.summary.ready === CLUSTERS.length,
    );
  });

  it("the watch's counts are computed after the change it reports, without polling", async () => {
    const s = services();
    await s.summaries.fleetCounts(); // warm: the next plain read could serve these
    await setState('blog/site', 'c1', 'Modified');
    const seenAt = Date.now();
    const counts = await s.summaries.fleetCountsSince(seenAt);
    expect(counts.computedAt).toBeGreaterThanOrEqual(seenAt);
    expect(counts.value.byState).toEqual((await counted()).byState);
    expect(counts.value.byBundle.get('blog/site')).toEqual((await counted(['blog/site'])).byState);
    await setState('blog/site', 'c1', 'Ready');
  });

  it('pages through every non-ready deployment, past the cached first page, in order', async () => {
    for (const c of ['c1', 'c2', 'c3', 'c4']) await setState('shop/api', c, 'NotReady');
    // The cache keeps 3: later pages are read from PostgreSQL.
    const s = services(3);
    const expected = (await deployments.nonReady()).map(deploymentView).map((d) => d.cluster);
    expect(expected).toHaveLength(6);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await s.status.statusPage({ limit: 2, after });
      expect(page.nonReadyTotal).toBe(6);
      seen.push(...page.nonReady.map((d) => d.cluster));
      if (page.continue === undefined) break;
      after = JSON.parse(Buffer.from(page.continue, 'base64url').toString()).a as string;
    }
    expect(seen).toEqual(expected);
  });
});
