import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { flotillaVersion } from '../../libs/contracts/project-root.js';

let hub: TestHub;
let api: ReturnType<TestHub['api']>;

beforeAll(async () => {
  hub = await startTestHub();
  api = hub.api();
});
afterAll(async () => {
  await hub?.stop();
});

const fleet = [
  { name: 'eu-1', labels: { env: 'prod', region: 'eu', ring: 'canary' } },
  { name: 'eu-2', labels: { env: 'prod', region: 'eu' } },
  { name: 'us-1', labels: { env: 'prod', region: 'us' } },
  { name: 'dev-1', labels: { env: 'dev', region: 'eu', legacy: 'true' } },
];

describe('cluster registration', () => {
  it('registers a cluster: 201 with the cluster, Pending, and its agent token', async () => {
    for (const c of fleet) {
      const res = await api.post('/api/v1/clusters').send(c).expect(201);
      expect(res.body.cluster).toMatchObject({ name: c.name, labels: c.labels, state: 'Pending' });
      expect(res.body.token).toMatch(/^fla_[A-Za-z0-9_-]{40,}$/);
    }
  });

  it.each([
    {
      name: 'a duplicate name is a 409',
      body: { name: 'eu-1' },
      status: 409,
      message: /already exists/,
    },
    {
      name: 'an upper-case name is a 400',
      body: { name: 'EU-1' },
      status: 400,
      message: /name "EU-1"/,
    },
    {
      name: 'a name over 63 characters is a 400',
      body: { name: 'a'.repeat(64) },
      status: 400,
      message: /63/,
    },
    { name: 'a missing name is a 400', body: { labels: {} }, status: 400, message: /name/ },
    {
      name: 'an invalid label key is a 400',
      body: { name: 'x-1', labels: { 'bad key': 'v' } },
      status: 400,
      message: /bad key/,
    },
    {
      name: 'an invalid label value is a 400',
      body: { name: 'x-1', labels: { env: 'has space' } },
      status: 400,
      message: /env/,
    },
    {
      name: 'a non-string label value is a 400',
      body: { name: 'x-1', labels: { env: 3 } },
      status: 400,
      message: /labels/,
    },
    {
      name: 'an unknown field is a 400',
      body: { name: 'x-1', colour: 'red' },
      status: 400,
      message: /colour/,
    },
  ])('$name', async ({ body, status, message }) => {
    const res = await api.post('/api/v1/clusters').send(body).expect(status);
    expect(res.body).toMatchObject({ statusCode: status });
    expect(res.body.error).toEqual(expect.any(String));
    expect(res.body.message).toMatch(message);
  });

  it('malformed JSON is a 400 with a message, not a 500', async () => {
    const res = await api
      .post('/api/v1/clusters')
      .set('Content-Type', 'application/json')
      .send('{"name": "x-1",')
      .expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.body.message).toMatch(/JSON/);
  });

  it('a body over 1 MiB is a 413', async () => {
    const res = await api
      .post('/api/v1/clusters')
      .send({ name: 'big', labels: {}, pad: 'x'.repeat(1_100_000) })
      .expect(413);
    expect(res.body.statusCode).toBe(413);
  });
});

describe('listing and selecting clusters', () => {
  it.each([
    { selector: '', expected: ['dev-1', 'eu-1', 'eu-2', 'us-1'] },
    { selector: 'env=prod', expected: ['eu-1', 'eu-2', 'us-1'] },
    { selector: 'env==prod,region=eu', expected: ['eu-1', 'eu-2'] },
    { selector: 'region!=eu', expected: ['us-1'] },
    { selector: 'region in (us,asia)', expected: ['us-1'] },
    { selector: 'region notin (eu)', expected: ['us-1'] },
    { selector: 'ring', expected: ['eu-1'] },
    { selector: '!ring,env=prod', expected: ['eu-2', 'us-1'] },
    { selector: 'ring!=canary', expected: ['dev-1', 'eu-2', 'us-1'] },
  ])('labelSelector "$selector" selects $expected', async ({ selector, expected }) => {
    const res = await api.get('/api/v1/clusters').query({ labelSelector: selector }).expect(200);
    expect(res.body.items.map((c: { name: string }) => c.name)).toEqual(expected);
  });

  it.each(['env in prod', 'env=pr od', '=prod', 'env notin (a,b'])(
    'an invalid selector "%s" is a 400',
    async (selector) => {
      const res = await api.get('/api/v1/clusters').query({ labelSelector: selector }).expect(400);
      expect(res.body.message).toEqual(expect.any(String));
    },
  );

  it('pages with limit and continue until every cluster was seen once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const res = await api
        .get('/api/v1/clusters')
        .query({ limit: 3, ...(token ? { continue: token } : {}) })
        .expect(200);
      seen.push(...res.body.items.map((c: { name: string }) => c.name));
      token = res.body.continue;
    } while (token);
    expect(seen).toEqual(['dev-1', 'eu-1', 'eu-2', 'us-1']);
  });

  it.each([
    { query: { limit: 0 }, message: /limit/ },
    { query: { limit: 'many' }, message: /limit/ },
    { query: { continue: 'garbage!' }, message: /continue/ },
  ])('bad paging $query is a 400', async ({ query, message }) => {
    const res = await api.get('/api/v1/clusters').query(query).expect(400);
    expect(res.body.message).toMatch(message);
  });
});

describe('one cluster', () => {
  it('GET returns its detail with deployments; an unknown name is a 404', async () => {
    const res = await api.get('/api/v1/clusters/eu-1').expect(200);
    expect(res.body).toMatchObject({
      name: 'eu-1',
      state: 'Pending',
      lastSeen: null,
      deployments: [],
    });
    const missing = await api.get('/api/v1/clusters/nope').expect(404);
    expect(missing.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'cluster "nope" not found',
    });
  });

  it('PATCH replaces the labels, and selection follows', async () => {
    const res = await api
      .patch('/api/v1/clusters/us-1')
      .send({ labels: { env: 'staging' } })
      .expect(200);
    expect(res.body.labels).toEqual({ env: 'staging' });
    const prod = await api.get('/api/v1/clusters').query({ labelSelector: 'env=prod' }).expect(200);
    expect(prod.body.items.map((c: { name: string }) => c.name)).toEqual(['eu-1', 'eu-2']);
    await api
      .patch('/api/v1/clusters/us-1')
      .send({ labels: { env: 'prod', region: 'us' } })
      .expect(200);
    await api.patch('/api/v1/clusters/nope').send({ labels: {} }).expect(404);
    await api
      .patch('/api/v1/clusters/us-1')
      .send({ labels: { 'a/b/c': 'x' } })
      .expect(400);
  });

  it('DELETE removes it (204), then it is a 404 and its agent token no longer bootstraps', async () => {
    const { body } = await api.post('/api/v1/clusters').send({ name: 'temp-1' }).expect(201);
    await api
      .post('/api/v1/agent/bootstrap')
      .set('Authorization', `Bearer ${body.token}`)
      .expect(200);
    await api.delete('/api/v1/clusters/temp-1').expect(204);
    await api.get('/api/v1/clusters/temp-1').expect(404);
    await api.delete('/api/v1/clusters/temp-1').expect(404);
    await api
      .post('/api/v1/agent/bootstrap')
      .set('Authorization', `Bearer ${body.token}`)
      .expect(401);
  });
});

describe('agent bootstrap and self-registration', () => {
  it('bootstrap answers the cluster and NATS details for a valid agent token only', async () => {
    const { body } = await api.post('/api/v1/clusters').send({ name: 'boot-1' }).expect(201);
    const res = await api
      .post('/api/v1/agent/bootstrap')
      .set('Authorization', `Bearer ${body.token}`)
      .expect(200);
    expect(res.body).toEqual({
      cluster: 'boot-1',
      natsUrl: hub.config.natsUrl,
      subjectPrefix: hub.config.subjectPrefix,
      heartbeatIntervalMs: 5000,
      hubPublicKey: expect.stringContaining('BEGIN PUBLIC KEY'),
      // The hub answers this agent's requests only under it, also without NATS authentication.
      inboxPrefix: `_INBOX.${hub.config.subjectPrefix}.flotilla.agent.boot-1`,
    });
    // One signing key for the hub, whoever asks.
    const again = await api
      .post('/api/v1/agent/bootstrap')
      .set('Authorization', `Bearer ${body.token}`)
      .expect(200);
    expect(again.body.hubPublicKey).toBe(res.body.hubPublicKey);
    await api.post('/api/v1/agent/bootstrap').expect(401);
    await api.post('/api/v1/agent/bootstrap').set('Authorization', 'Bearer fla_wrong').expect(401);
  });

  it('a registration token registers agents with its labels until its uses run out', async () => {
    const created = await api
      .post('/api/v1/registration-tokens')
      .send({
        ttl: '1h',
        maxUses: 2,
        labels: { env: 'edge', tier: 'b' },
        description: 'edge sites',
      })
      .expect(201);
    expect(created.body.token).toMatch(/^flr_/);
    expect(created.body).toMatchObject({ maxUses: 2, uses: 0, labels: { env: 'edge', tier: 'b' } });
    const auth = { Authorization: `Bearer ${created.body.token}` };

    const first = await api
      .post('/api/v1/agent/register')
      .set(auth)
      .send({ name: 'edge-1', labels: { site: 'north', tier: 'b' } })
      .expect(201);
    expect(first.body.cluster).toEqual({
      name: 'edge-1',
      labels: { env: 'edge', tier: 'b', site: 'north' },
    });
    await api
      .post('/api/v1/agent/bootstrap')
      .set('Authorization', `Bearer ${first.body.token}`)
      .expect(200);

    // A failed registration (name taken) does not use the token up.
    await api.post('/api/v1/agent/register').set(auth).send({ name: 'edge-1' }).expect(409);
    await api.post('/api/v1/agent/register').set(auth).send({ name: 'edge-2' }).expect(201);
    const spent = await api
      .post('/api/v1/agent/register')
      .set(auth)
      .send({ name: 'edge-3' })
      .expect(401);
    expect(spent.body.message).toMatch(/used up/);

    const list = await api.get('/api/v1/registration-tokens').expect(200);
    const listed = list.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(listed).toMatchObject({ uses: 2, maxUses: 2 });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
  });

  it("an agent cannot override a registration token's labels (403), and the refusal uses nothing up", async () => {
    const created = await api
      .post('/api/v1/registration-tokens')
      .send({ maxUses: 1, labels: { env: 'dev' } })
      .expect(201);
    const auth = { Authorization: `Bearer ${created.body.token}` };
    const refused = await api
      .post('/api/v1/agent/register')
      .set(auth)
      .send({ name: 'sneaky-1', labels: { env: 'prod', ring: 'canary' } })
      .expect(403);
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    expect(refused.body.message).toMatch(/registration token sets env=dev/);
    expect(refused.body.message).toMatch(/may add labels but not change/);
    await api.get('/api/v1/clusters/sneaky-1').expect(404);

    // The token's one use is still there, for a registration within its ceiling.
    const ok = await api
      .post('/api/v1/agent/register')
      .set(auth)
      .send({ name: 'sneaky-1', labels: { env: 'dev', site: 'lab' } })
      .expect(201);
    expect(ok.body.cluster.labels).toEqual({ env: 'dev', site: 'lab' });
    // Registered clusters take part in the group tests below; this one matches none of them.
    await api.delete('/api/v1/clusters/sneaky-1').expect(204);
  });

  it.each([
    { body: { ttl: 'forever' }, message: /ttl/ },
    { body: { maxUses: 0 }, message: /maxUses/ },
    { body: { labels: { 'no good': 'x' } }, message: /no good/ },
  ])('a bad registration token request $body is a 400', async ({ body, message }) => {
    const res = await api.post('/api/v1/registration-tokens').send(body).expect(400);
    expect(res.body.message).toMatch(message);
  });
});

describe('cluster groups', () => {
  it('creates a group from a selector string or object; members follow label changes', async () => {
    const created = await api
      .post('/api/v1/cluster-groups')
      .send({ name: 'prod-eu', selector: 'env=prod,region in (eu,us),!legacy' })
      .expect(201);
    expect(created.body).toMatchObject({ name: 'prod-eu', clusters: ['eu-1', 'eu-2', 'us-1'] });
    expect(created.body.summary).toEqual({ total: 3, online: 0, offline: 0, pending: 3 });
    expect(created.body.selector).toEqual({
      matchLabels: { env: 'prod' },
      matchExpressions: [
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'region', operator: 'In', values: ['eu', 'us'] },
      ],
    });

    await api
      .post('/api/v1/cluster-groups')
      .send({
        name: 'canaries',
        selector: { matchExpressions: [{ key: 'ring', operator: 'In', values: ['canary'] }] },
      })
      .expect(201);

    await api
      .patch('/api/v1/clusters/eu-2')
      .send({ labels: { env: 'prod', region: 'eu', legacy: 'yes' } })
      .expect(200);
    const after = await api.get('/api/v1/cluster-groups/prod-eu').expect(200);
    expect(after.body.clusters).toEqual(['eu-1', 'us-1']);

    const list = await api.get('/api/v1/cluster-groups').expect(200);
    expect(
      list.body.items.map((g: { name: string; clusterCount: number }) => [g.name, g.clusterCount]),
    ).toEqual([
      ['canaries', 1],
      ['prod-eu', 2],
    ]);
  });

  it('PUT replaces the selector; DELETE removes the group but not its clusters', async () => {
    const res = await api
      .put('/api/v1/cluster-groups/canaries')
      .send({ selector: 'region=us' })
      .expect(200);
    expect(res.body.clusters).toEqual(['us-1']);
    await api.delete('/api/v1/cluster-groups/canaries').expect(204);
    await api.get('/api/v1/cluster-groups/canaries').expect(404);
    await api.get('/api/v1/clusters/us-1').expect(200);
  });

  it.each([
    {
      name: 'a duplicate group is a 409',
      body: { name: 'prod-eu', selector: 'env=prod' },
      status: 409,
    },
    {
      name: 'an invalid selector string is a 400',
      body: { name: 'g-1', selector: 'env in prod' },
      status: 400,
    },
    {
      name: 'an unknown operator is a 400',
      body: { name: 'g-1', selector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } },
      status: 400,
    },
    {
      name: 'In without values is a 400',
      body: {
        name: 'g-1',
        selector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      },
      status: 400,
    },
    {
      name: 'an invalid group name is a 400',
      body: { name: 'Prod_EU', selector: '' },
      status: 400,
    },
  ])('$name', async ({ body, status }) => {
    const res = await api.post('/api/v1/cluster-groups').send(body).expect(status);
    expect(res.body.message).toEqual(expect.any(String));
  });
});

describe('operations endpoints', () => {
  it('healthz and readyz answer 200, and the version is public', async () => {
    const version = flotillaVersion();
    await api.get('/healthz').expect(200, { status: 'ok', version });
    await api.get('/api/v1/version').expect(200, { version, api: 'v1' });
    const ready = await api.get('/readyz').expect(200);
    expect(ready.body.checks).toEqual({ postgres: 'ok', nats: 'ok', statusStream: 'ok' });
  });

  it('metrics are in Prometheus text format', async () => {
    const res = await api.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/^# HELP flotilla_heartbeats_total/m);
    expect(res.text).toMatch(/^flotilla_hub_process_resident_memory_bytes \d+/m);
  });

  it('the OpenAPI document lists the routes and /api/docs serves it', async () => {
    const doc = await api.get('/api/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/clusters',
        '/api/v1/clusters/{name}',
        '/api/v1/cluster-groups',
        '/api/v1/cluster-groups/{name}',
        '/api/v1/registration-tokens',
        '/api/v1/agent/bootstrap',
      ]),
    );
    const page = await api.get('/api/docs').redirects(1).expect(200);
    expect(page.text).toMatch(/swagger/i);
  });

  it('an unknown route is a JSON 404', async () => {
    const res = await api.get('/api/v1/nothing-here').expect(404);
    expect(res.body.statusCode).toBe(404);
  });
});
