import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let git: GitServer;

beforeAll(async () => {
  hub = await startTestHub();
  git = await startGitServer();
});
afterAll(async () => {
  await git?.stop();
  await hub?.stop();
});

function rendersOf(metrics: string): number {
  const m = /^flotilla_bundle_renders_total (\d+)/m.exec(metrics);
  return m ? Number(m[1]) : NaN;
}

describe('rendering at fleet scale', () => {
  it('1,000 clusters sharing one variant cause one render, and a variant per region renders once per region', async () => {
    const db = new pg.Client({ connectionString: hub.config.databaseUrl });
    await db.connect();
    try {
      // Registering through the API is measured elsewhere; here only the resolver is under test.
      await db.query(
        `INSERT INTO clusters (name, labels)
         SELECT 'c-' || i, jsonb_build_object('env', 'prod', 'region', CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END)
           FROM generate_series(1, 1000) AS i`,
      );
    } finally {
      await db.end();
    }
    const repo = await git.createRepo('scale', {
      'apps/web/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: "1"}\n',
      'apps/regional/fleet.yaml': 'substitute: true\n',
      'apps/regional/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: regional}\ndata: {region: "${cluster.labels.region}"}\n',
    });
    const api = hub.api();
    const before = rendersOf((await api.get('/metrics').expect(200)).text);
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'scale',
        url: repo.url,
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=prod' }],
      })
      .expect(201);
    await eventually(
      'scale synced',
      async () => (await api.get('/api/v1/gitrepos/scale').expect(200)).body,
      (r) => r.status.commit !== null,
    );
    expect(rendersOf((await api.get('/metrics').expect(200)).text) - before).toBe(3);

    // Delivery follows the resolver asynchronously.
    const web = await eventually(
      'scale/web delivered to 1,000 clusters',
      async () =>
        (await api.get(`/api/v1/bundles/${encodeURIComponent('scale/web')}`).expect(200)).body,
      (b) =>
        b.deployments.length === 1000 &&
        b.deployments.every((d: any) => d.desiredRevision !== null),
    );
    expect(web.revisions).toHaveLength(1);
    const regional = (
      await api.get(`/api/v1/bundles/${encodeURIComponent('scale/regional')}`).expect(200)
    ).body;
    expect(regional.revisions).toHaveLength(2);

    // A second sync at the same commit (it runs: lastSyncedAt moves) renders nothing.
    const synced = (await api.get('/api/v1/gitrepos/scale').expect(200)).body.status.lastSyncedAt;
    await api.post('/api/v1/gitrepos/scale/sync').expect(202);
    await eventually(
      'the second sync',
      async () => (await api.get('/api/v1/gitrepos/scale').expect(200)).body.status.lastSyncedAt,
      (at) => at !== synced,
    );
    expect(rendersOf((await api.get('/metrics').expect(200)).text) - before).toBe(3);
  });
});
