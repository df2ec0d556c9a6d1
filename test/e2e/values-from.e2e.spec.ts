// Fleet's helm.valuesFrom: the values come from a GitRepo's values sources, set through the API
// and kept encrypted; a changed value is a new revision rolled out to the clusters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const BUNDLE = 'vals/web';
const CM_KEY = 'v1/ConfigMap/shop/web';
const SECRET_PATH = '/api/v1/gitrepos/vals/values/secrets/shop/web-values';

const FILES: Record<string, string> = {
  'apps/web/fleet.yaml': `defaultNamespace: shop
helm:
  chart: ""
  releaseName: web
  values: {color: blue, size: small, password: none}
  valuesFrom:
    - secretKeyRef: {name: web-values}
`,
  'apps/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  'apps/web/templates/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {color: "{{ .Values.color }}", size: "{{ .Values.size }}", password: "{{ .Values.password }}"}
`,
};

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
let driver: SimulatedCluster;
let agent: RunningAgent | undefined;
let stateDir: string;
let db: pg.Client;

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  api = hub.api();
  db = new pg.Client({ connectionString: hub.env.DATABASE_URL });
  await db.connect();
  git = await startGitServer();
  const repo = await git.createRepo('vals', FILES);
  const res = await api.post('/api/v1/clusters').send({ name: 'c1', labels: { env: 'prod' } });
  expect(res.status).toBe(201);
  driver = new SimulatedCluster();
  stateDir = mkdtempSync(join(tmpdir(), 'flotilla-values-from-'));
  agent = await startAgent({
    hubUrl: hub.httpUrl,
    token: res.body.token as string,
    driver,
    stateDir,
    heartbeatIntervalMs: 300,
    logger: pino({ level: 'silent' }),
  });
  await api
    .post('/api/v1/gitrepos')
    .send({
      name: 'vals',
      url: `file://${repo.bareDir}`,
      branch: 'main',
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=prod' }],
    })
    .expect(201);
});

afterAll(async () => {
  await agent?.stop();
  await db?.end();
  await git?.stop();
  await hub?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const liveData = (): unknown => (driver.liveObject(CM_KEY) as { data?: unknown } | undefined)?.data;
/** The bundle as the API shows it; undefined until it exists. */
const bundleBody = async (): Promise<{ error?: string | null } | undefined> => {
  const res = await api.get(`/api/v1/bundles/${encodeURIComponent(BUNDLE)}`);
  return res.status === 200 ? (res.body as { error?: string | null }) : undefined;
};
const heldRevision = async (): Promise<string | undefined> =>
  (await driver.heldBundles()).find((h) => h.bundle === BUNDLE)?.revision;

describe('helm.valuesFrom from values sources stored on the GitRepo', () => {
  it('without the values source the bundle has a clear error, and nothing is deployed', async () => {
    const bundle = await eventually(
      'the bundle error',
      bundleBody,
      (b: { error?: string | null } | undefined) => typeof b?.error === 'string',
      { timeoutMs: 60_000 },
    );
    expect(bundle?.error).toContain(
      "helm.valuesFrom[0]: no Secret shop/web-values among the GitRepo's values sources (set it with PUT /api/v1/gitrepos/<gitrepo>/values/secrets/shop/web-values)",
    );
    expect(liveData()).toBeUndefined();
  }, 120_000);

  it('an operator may not set a Secret values source; an admin may, and only its keys are shown', async () => {
    const { body: op } = await api
      .post('/api/v1/api-tokens')
      .send({ name: 'values-operator', role: 'operator' })
      .expect(201);
    const refused = await hub
      .api(op.token as string)
      .put(SECRET_PATH)
      .send({ data: { 'values.yaml': 'color: red\n' } });
    expect(refused.status).toBe(403);

    const put = await api
      .put(SECRET_PATH)
      .send({ data: { 'values.yaml': 'color: red\npassword: s3cret-first\n' } })
      .expect(200);
    expect(put.body).toMatchObject({
      kind: 'Secret',
      namespace: 'shop',
      name: 'web-values',
      keys: ['values.yaml'],
    });
    const list = await api.get('/api/v1/gitrepos/vals/values').expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ kind: 'Secret', name: 'web-values', keys: ['values.yaml'] }),
    ]);
    expect(JSON.stringify([put.body, list.body])).not.toContain('s3cret');
    const stored = await db.query<{ data: string }>('SELECT data FROM gitrepo_values');
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]!.data).not.toContain('s3cret');
    expect(stored.rows[0]!.data).not.toContain('color');
  }, 120_000);

  it('the bundle renders with them (valuesFrom over values, as in Fleet) and is deployed', async () => {
    await eventually(
      'the values from the Secret deployed',
      liveData,
      (d) =>
        JSON.stringify(d) ===
        JSON.stringify({ color: 'red', size: 'small', password: 's3cret-first' }),
      { timeoutMs: 60_000 },
    );
    const bundle = (await api.get(`/api/v1/bundles/${encodeURIComponent(BUNDLE)}`).expect(200))
      .body as { error?: string | null };
    expect(bundle.error ?? null).toBeNull();
  }, 120_000);

  it('changing a value makes a new revision, rolled out; the value stays out of the API', async () => {
    const before = await heldRevision();
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    await api
      .put(SECRET_PATH)
      .send({ data: { 'values.yaml': 'color: green\npassword: s3cret-second\n' } })
      .expect(200);
    await eventually(
      'the changed value deployed',
      liveData,
      (d) =>
        JSON.stringify(d) ===
        JSON.stringify({ color: 'green', size: 'small', password: 's3cret-second' }),
      { timeoutMs: 60_000 },
    );
    const after = await heldRevision();
    expect(after).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
    const repo = await api.get('/api/v1/gitrepos/vals').expect(200);
    expect(JSON.stringify(repo.body)).not.toContain('s3cret');
  }, 120_000);

  it('bad input is a 400 with the reason; deleting the source brings the clear error back', async () => {
    const bad = await api.put('/api/v1/gitrepos/vals/values/pods/shop/x').send({ data: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('use "secrets"');
    const badKey = await api.put(SECRET_PATH).send({ data: { 'a/b': 'x: 1' } });
    expect(badKey.status).toBe(400);
    await api.put('/api/v1/gitrepos/nope/values/secrets/shop/x').send({ data: {} }).expect(404);

    await api.delete(SECRET_PATH).expect(204);
    await api.delete(SECRET_PATH).expect(404);
    await eventually(
      'the bundle error back',
      bundleBody,
      (b: { error?: string | null } | undefined) =>
        typeof b?.error === 'string' && b.error.includes('no Secret shop/web-values'),
      { timeoutMs: 60_000 },
    );
    // The clusters keep the last good revision.
    expect(liveData()).toMatchObject({ color: 'green' });
  }, 120_000);
});
