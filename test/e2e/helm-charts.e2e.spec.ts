// Helm charts from where charts live: a Helm repository (real `helm package` + `helm repo
// index`, behind basic auth) and an OCI registry (bearer token flow, charts pushed with the real
// `helm push`), both on loopback; the hub fetches, pins and renders, agents never fetch.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  packageChart,
  runHelm,
  startGitServer,
  startHelmRepo,
  startOciRegistry,
  type GitServer,
  type HelmRepo,
  type OciRegistry,
} from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let git: GitServer;
let charts: HelmRepo;
let registry: OciRegistry;
let db: pg.Client;
let work: string;

const configMap = (name: string) => ({
  'templates/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  chartVersion: {{ .Chart.Version | quote }}\n  greeting: {{ .Values.greeting | quote }}\n`,
  'values.yaml': 'greeting: hello\n',
});

beforeAll(async () => {
  hub = await startTestHub();
  git = await startGitServer();
  charts = await startHelmRepo({ auth: { username: 'reader', password: 'chart-pass' } });
  registry = await startOciRegistry({ kind: 'token', username: 'robot', password: 'oci-pass' });
  db = new pg.Client({ connectionString: hub.config.databaseUrl });
  await db.connect();
  work = hub.config.dataDir;
  await hub
    .api()
    .post('/api/v1/clusters')
    .send({ name: 'c1', labels: { env: 'prod' } })
    .expect(201);
  await charts.add({ name: 'web', version: '1.0.0', files: configMap('web') });
  await charts.add({ name: 'web', version: '2.0.0', files: configMap('web') });
  const api = await packageChart(
    { name: 'api', version: '0.1.0', files: configMap('api') },
    work,
    `${work}/oci`,
  );
  await runHelm(
    [
      'push',
      api,
      `oci://${registry.host}/charts`,
      '--plain-http',
      '--username',
      'robot',
      '--password',
      'oci-pass',
    ],
    `${work}/helm-home`,
  );
});
afterAll(async () => {
  await db?.end();
  await registry?.stop();
  await charts?.stop();
  await git?.stop();
  await hub?.stop();
});

/** The rendered objects of the revision cluster `c1` is to run for `bundle`. */
async function rendered(bundle: string): Promise<{ revision: string; objects: any[] }> {
  const rows: { revision: string; content: Buffer }[] = (
    await db.query(
      `SELECT t.revision, r.content FROM bundle_targets t JOIN bundle_revisions r ON r.id = t.revision
        WHERE t.bundle = $1 AND t.cluster = 'c1'`,
      [bundle],
    )
  ).rows;
  const row = rows[0];
  if (row === undefined) return { revision: '', objects: [] };
  return { revision: row.revision, objects: JSON.parse(row.content.toString('utf8')) };
}

describe('charts from a Helm repository and an OCI registry', () => {
  it('renders them, pins a new version under a range as a new revision, and keeps the last good one when fetching fails', async () => {
    const api = hub.api();
    const repo = await git.createRepo('fleet', {
      'apps/web/fleet.yaml': `helm:\n  repo: ${charts.url}\n  chart: web\n  version: ^1.0.0\n  values: {greeting: hi}\n`,
      'apps/api/fleet.yaml': `helm:\n  chart: oci://${registry.host}/charts/api\n  version: 0.x\n`,
    });
    const body = {
      name: 'fleet',
      url: repo.url,
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=prod' }],
      helmRepoCredentials: {
        [`${charts.url}/`]: { username: 'reader', password: 'chart-pass' },
        [`oci://${registry.host}/charts`]: { username: 'robot', password: 'oci-pass' },
      },
      helmAllowHttp: true,
    };
    const created = await api.post('/api/v1/gitrepos').send(body).expect(201);
    // The credentials are stored, never shown.
    expect(created.body.helmRepoCredentials).toEqual({
      [`${charts.url}/`]: 'basic',
      [`oci://${registry.host}/charts`]: 'basic',
    });
    expect(created.body.helmAllowHttp).toBe(true);
    expect(JSON.stringify(created.body)).not.toMatch(/chart-pass|oci-pass/);

    const web1 = await eventually(
      'fleet/web rendered from the repository',
      () => rendered('fleet/web'),
      (r) => r.objects.length > 0,
    );
    expect(web1.objects).toEqual([
      expect.objectContaining({
        kind: 'ConfigMap',
        data: { chartVersion: '1.0.0', greeting: 'hi' },
      }),
    ]);
    const api1 = await eventually(
      'fleet/api rendered from the registry',
      () => rendered('fleet/api'),
      (r) => r.objects.length > 0,
    );
    expect(api1.objects).toEqual([
      expect.objectContaining({
        kind: 'ConfigMap',
        data: { chartVersion: '0.1.0', greeting: 'hello' },
      }),
    ]);
    const commit = (await api.get('/api/v1/gitrepos/fleet').expect(200)).body.status.commit;

    // A sync with nothing new keeps the same revision (same inputs, same content, same id).
    await api.post('/api/v1/gitrepos/fleet/sync').expect(202);
    const resynced = (await api.get('/api/v1/gitrepos/fleet').expect(200)).body.status.lastSyncedAt;
    await eventually(
      'the resync',
      async () => (await api.get('/api/v1/gitrepos/fleet').expect(200)).body.status.lastSyncedAt,
      (at) => at !== resynced,
    );
    expect((await rendered('fleet/web')).revision).toBe(web1.revision);

    // A new version under the range, same commit: the next sync makes it a new revision.
    await charts.add({ name: 'web', version: '1.1.0', files: configMap('web') });
    await api.post('/api/v1/gitrepos/fleet/sync').expect(202);
    const web2 = await eventually(
      'fleet/web at chart 1.1.0',
      () => rendered('fleet/web'),
      (r) => r.revision !== web1.revision,
    );
    expect(web2.objects).toEqual([
      expect.objectContaining({ data: { chartVersion: '1.1.0', greeting: 'hi' } }),
    ]);
    expect((await api.get('/api/v1/gitrepos/fleet').expect(200)).body.status.commit).toBe(commit);
    // The bundle shows the exact chart it runs.
    const view = (await api.get(`/api/v1/bundles/${encodeURIComponent('fleet/web')}`).expect(200))
      .body;
    expect(view.charts).toEqual([
      {
        from: `${charts.url}/web-1.1.0.tgz`,
        name: 'web',
        version: '1.1.0',
        digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect((await rendered('fleet/api')).revision).toBe(api1.revision);

    // The repository breaks: the bundle says why, and clusters keep the last good revision.
    await charts.overwrite('index.yaml', new TextEncoder().encode('<html>maintenance</html>'));
    await api.post('/api/v1/gitrepos/fleet/sync').expect(202);
    const broken = await eventually(
      'the fetch error on fleet/web',
      async () =>
        (await api.get(`/api/v1/bundles/${encodeURIComponent('fleet/web')}`).expect(200)).body,
      (b) => b.error !== null,
    );
    expect(broken.error).toBe(
      `fleet/web: cannot fetch chart web ^1.0.0 from ${charts.url}: repository ${charts.url}: index.yaml has no "entries"; is this a Helm repository?`,
    );
    expect((await rendered('fleet/web')).revision).toBe(web2.revision);
    expect(
      (await api.get(`/api/v1/bundles/${encodeURIComponent('fleet/api')}`).expect(200)).body.error,
    ).toBeNull();

    // Without helmAllowHttp, plain http is refused, on the bundle, naming the flag (a registry
    // is then spoken to over https, which a plain http server cannot answer).
    await api
      .put('/api/v1/gitrepos/fleet')
      .send({ ...body, helmAllowHttp: false })
      .expect(200);
    const refused = await eventually(
      'the http refusal on fleet/api',
      async () =>
        (await api.get(`/api/v1/bundles/${encodeURIComponent('fleet/api')}`).expect(200)).body,
      (b) => b.error !== null,
    );
    expect(refused.error).toMatch(
      /^fleet\/api: cannot fetch chart oci:\/\/.*\/charts\/api 0.x: GET https:\/\/.*: TLS handshake failed .*helmAllowHttp on the GitRepo allows that$/,
    );
    expect((await rendered('fleet/api')).revision).toBe(api1.revision);
  });

  it('fetches Chart.yaml dependencies from repositories as helm dependency build does, at the versions Chart.lock pins', async () => {
    const api = hub.api();
    const deps = await startHelmRepo();
    try {
      await deps.add({ name: 'redis', version: '1.0.0', files: configMap('redis') });
      const chart = (lock: boolean) => ({
        'apps/umbrella/Chart.yaml': `apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: ~1.0.0\n  repository: ${deps.url}\n- name: api\n  version: 0.x\n  repository: oci://${registry.host}/charts\n`,
        'apps/umbrella/templates/cm.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: umbrella}\n',
        'apps/umbrella/Chart.lock': lock
          ? `dependencies:\n- name: redis\n  repository: ${deps.url}\n  version: 1.0.0\n- name: api\n  repository: oci://${registry.host}/charts\n  version: 0.1.0\ndigest: sha256:0\ngenerated: "2026-01-01T00:00:00Z"\n`
          : null,
      });
      const files = chart(true);
      const repo = await git.createRepo('umbrella', {
        'apps/umbrella/Chart.yaml': files['apps/umbrella/Chart.yaml'],
        'apps/umbrella/templates/cm.yaml': files['apps/umbrella/templates/cm.yaml'],
        'apps/umbrella/Chart.lock': files['apps/umbrella/Chart.lock'] ?? '',
      });
      await api
        .post('/api/v1/gitrepos')
        .send({
          name: 'umbrella',
          url: repo.url,
          paths: ['apps'],
          pollingInterval: '0',
          targets: [{ clusterSelector: 'env=prod' }],
          helmRepoCredentials: {
            [`oci://${registry.host}`]: { username: 'robot', password: 'oci-pass' },
          },
          helmAllowHttp: true,
        })
        .expect(201);
      const versions = (r: { objects: any[] }) =>
        Object.fromEntries(r.objects.map((o) => [o.metadata.name, o.data?.chartVersion ?? null]));
      const first = await eventually(
        'umbrella rendered with its dependencies',
        () => rendered('umbrella/umbrella'),
        (r) => r.objects.length > 0,
      );
      expect(versions(first)).toEqual({ api: '0.1.0', redis: '1.0.0', umbrella: null });

      // A newer redis under the range: Chart.lock still pins 1.0.0, so nothing changes.
      await deps.add({ name: 'redis', version: '1.0.5', files: configMap('redis') });
      const synced = (await api.get('/api/v1/gitrepos/umbrella').expect(200)).body.status
        .lastSyncedAt;
      await api.post('/api/v1/gitrepos/umbrella/sync').expect(202);
      await eventually(
        'the resync',
        async () =>
          (await api.get('/api/v1/gitrepos/umbrella').expect(200)).body.status.lastSyncedAt,
        (at) => at !== synced,
      );
      expect((await rendered('umbrella/umbrella')).revision).toBe(first.revision);

      // Without the lock, the range resolves to 1.0.5.
      await git.commit('umbrella', { 'apps/umbrella/Chart.lock': null });
      await api.post('/api/v1/gitrepos/umbrella/sync').expect(202);
      const unlocked = await eventually(
        'umbrella at redis 1.0.5',
        () => rendered('umbrella/umbrella'),
        (r) => versions(r).redis === '1.0.5',
      );
      expect(versions(unlocked)).toEqual({ api: '0.1.0', redis: '1.0.5', umbrella: null });
    } finally {
      await deps.stop();
    }
  });

  it('a partial update (PATCH) keeps the Helm credentials and helmAllowHttp it does not name; only an admin changes them', async () => {
    const api = hub.api();
    const credentials = { 'https://charts.example.com/': { username: 'u', password: 'p' } };
    await api
      .post('/api/v1/gitrepos')
      .send({
        name: 'patched',
        url: 'https://git.example.com/x.git',
        pollingInterval: '0',
        helmRepoCredentials: credentials,
        helmAllowHttp: true,
      })
      .expect(201);
    const kept = await api
      .patch('/api/v1/gitrepos/patched')
      .send({ paths: ['apps'] })
      .expect(200);
    expect(kept.body.helmRepoCredentials).toEqual({ 'https://charts.example.com/': 'basic' });
    expect(kept.body.helmAllowHttp).toBe(true);
    const changed = await api
      .patch('/api/v1/gitrepos/patched')
      .send({ helmRepoCredentials: null, helmAllowHttp: false })
      .expect(200);
    expect(changed.body.helmRepoCredentials).toBeNull();
    expect(changed.body.helmAllowHttp).toBe(false);
    const token = (
      await api.post('/api/v1/api-tokens').send({ name: 'ops', role: 'operator' }).expect(201)
    ).body.token;
    await hub
      .api(token)
      .patch('/api/v1/gitrepos/patched')
      .send({ helmAllowHttp: true })
      .expect(403);
    await hub
      .api(token)
      .patch('/api/v1/gitrepos/patched')
      .send({ helmRepoCredentials: credentials })
      .expect(403);
  });

  it('refuses malformed Helm credentials with a 400', async () => {
    const res = await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'bad',
        url: 'https://git.example.com/x.git',
        helmRepoCredentials: { 'charts.example.com': { token: 't' } },
      })
      .expect(400);
    expect(res.body.message).toMatch(/helmRepoCredentials: every key must be a URL prefix/);
  });
});
