import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access, Role } from '../../libs/auth/index.js';
import { eventually } from '../../libs/testing/index.js';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
/** A token of each role, and a real agent token. */
const tokens = {} as Record<Role, string>;
let agentToken: string;

beforeAll(async () => {
  hub = await startTestHub();
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const { body } = await hub
      .api()
      .post('/api/v1/api-tokens')
      .send({ name: `a-${role}`, role })
      .expect(201);
    tokens[role] = body.token;
  }
  agentToken = (await hub.api().post('/api/v1/clusters').send({ name: 'auth-1' }).expect(201)).body
    .token;
});
afterAll(async () => {
  await hub?.stop();
});

/**
 * Every REST route and who may call it. Ids in paths do not exist, and bodies are empty, so a
 * call that gets past authentication answers 400 or 404 and changes nothing. The first test checks
 * that this table lists exactly the routes of the OpenAPI document, so a new route cannot be
 * forgotten here.
 */
const routes: [method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, need: Access][] =
  [
    ['get', '/api/v1/clusters', 'viewer'],
    ['post', '/api/v1/clusters', 'admin'],
    ['get', '/api/v1/clusters/{name}', 'viewer'],
    ['patch', '/api/v1/clusters/{name}', 'admin'],
    ['delete', '/api/v1/clusters/{name}', 'admin'],
    ['post', '/api/v1/clusters/{name}/token', 'admin'],
    ['get', '/api/v1/cluster-groups', 'viewer'],
    ['post', '/api/v1/cluster-groups', 'admin'],
    ['get', '/api/v1/cluster-groups/{name}', 'viewer'],
    ['put', '/api/v1/cluster-groups/{name}', 'admin'],
    ['delete', '/api/v1/cluster-groups/{name}', 'admin'],
    ['get', '/api/v1/registration-tokens', 'admin'],
    ['post', '/api/v1/registration-tokens', 'admin'],
    ['delete', '/api/v1/registration-tokens/{id}', 'admin'],
    ['get', '/api/v1/api-tokens', 'admin'],
    ['post', '/api/v1/api-tokens', 'admin'],
    ['get', '/api/v1/api-tokens/{name}', 'admin'],
    ['delete', '/api/v1/api-tokens/{name}', 'admin'],
    ['get', '/api/v1/gitrepos', 'viewer'],
    ['post', '/api/v1/gitrepos', 'admin'],
    ['get', '/api/v1/gitrepos/{name}', 'viewer'],
    ['put', '/api/v1/gitrepos/{name}', 'admin'],
    ['patch', '/api/v1/gitrepos/{name}', 'operator'],
    ['delete', '/api/v1/gitrepos/{name}', 'admin'],
    ['post', '/api/v1/gitrepos/{name}/sync', 'operator'],
    ['post', '/api/v1/gitrepos/{name}/plan', 'operator'],
    ['get', '/api/v1/gitrepos/{name}/values', 'viewer'],
    ['put', '/api/v1/gitrepos/{name}/values/{kind}/{namespace}/{source}', 'operator'],
    ['delete', '/api/v1/gitrepos/{name}/values/{kind}/{namespace}/{source}', 'operator'],
    ['get', '/api/v1/bundles', 'viewer'],
    ['get', '/api/v1/bundles/{name}', 'viewer'],
    ['get', '/api/v1/bundles/{name}/manifests', 'viewer'],
    ['get', '/api/v1/status', 'viewer'],
    ['get', '/api/v1/rollouts', 'viewer'],
    ['get', '/api/v1/rollouts/{id}', 'viewer'],
    ['post', '/api/v1/rollouts/{id}/{action}', 'operator'],
    ['get', '/api/v1/plans/{id}', 'viewer'],
    ['get', '/api/v1/whoami', 'viewer'],
    ['get', '/api/v1/fleet/matrix', 'viewer'],
    ['get', '/api/v1/events', 'viewer'],
    ['post', '/api/v1/notifications/targets', 'operator'],
    ['get', '/api/v1/notifications/targets', 'viewer'],
    ['get', '/api/v1/notifications/targets/{name}', 'viewer'],
    ['delete', '/api/v1/notifications/targets/{name}', 'operator'],
    ['post', '/api/v1/notifications/rules', 'operator'],
    ['get', '/api/v1/notifications/rules', 'viewer'],
    ['get', '/api/v1/notifications/rules/{name}', 'viewer'],
    ['delete', '/api/v1/notifications/rules/{name}', 'operator'],
    ['get', '/api/v1/notifications/deliveries', 'viewer'],
    ['get', '/api/v1/notifications/dead-letters', 'viewer'],
    ['post', '/api/v1/notifications/deliveries/{id}/retry', 'operator'],
    ['post', '/api/v1/agent/bootstrap', 'agent'],
    ['post', '/api/v1/agent/register', 'agent'],
    ['post', '/api/v1/webhooks/git', 'public'],
  ];

/** Routes added by later work that this table must also cover are found by the first test. */
function concrete(path: string): string {
  return path
    .replace('{id}/{action}', '00000000-0000-0000-0000-000000000000/pause')
    .replace('{id}', '00000000-0000-0000-0000-000000000000')
    .replace(/\{[^}]+\}/g, 'no-such-thing');
}

async function call(
  method: (typeof routes)[number][0],
  path: string,
  token: string | null,
): Promise<{ status: number; body: any }> {
  if (path === '/api/v1/events') return openStream(token);
  const req = hub.api(token)[method](concrete(path));
  return method === 'get' || method === 'delete' ? req : req.send({});
}

/** Opens the live-events stream (which never ends by itself): its status, then hangs up. */
async function openStream(token: string | null): Promise<{ status: number; body: any }> {
  const hangUp = new AbortController();
  const res = await fetch(`${hub.httpUrl}/api/v1/events`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    signal: hangUp.signal,
  });
  const body = res.ok ? {} : await res.json();
  hangUp.abort();
  return { status: res.status, body };
}

describe('API authentication and roles (REST)', () => {
  it('the table below covers every route of the OpenAPI document', async () => {
    const { body } = await hub.api(null).get('/api/openapi.json').expect(200);
    const documented = Object.entries(body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    expect(documented).toEqual(routes.map(([m, p]) => `${m} ${p}`).sort());
  });

  const guarded = routes.filter(([, , need]) => need !== 'public' && need !== 'agent');

  it.each(guarded)(
    '%s %s: 401 without a token, with an unknown one, or an agent token',
    async (m, p) => {
      for (const token of [null, 'flt_not-a-real-token-at-all', agentToken]) {
        const res = await call(m, p, token);
        expect(res.status, `${m} ${p} with ${token}`).toBe(401);
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }
      const res = await call(m, p, agentToken);
      expect(res.body.message).toMatch(
        /agent and registration tokens work only for \/api\/v1\/agent/,
      );
    },
  );

  it.each(guarded)('%s %s: allowed for %s and above, 403 below', async (m, p, need) => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const res = await call(m, p, tokens[role]);
      const allowed =
        ['viewer', 'operator', 'admin'].indexOf(role) >=
        ['viewer', 'operator', 'admin'].indexOf(need);
      if (allowed)
        expect([401, 403], `${m} ${p} as ${role}: ${res.status}`).not.toContain(res.status);
      else {
        expect(res.status, `${m} ${p} as ${role}`).toBe(403);
        expect(res.body.message).toBe(
          `this needs the ${need} role; API token "a-${role}" has the ${role} role`,
        );
      }
    }
  });

  it('agent endpoints take agent tokens, not API tokens', async () => {
    await hub.api(null).post('/api/v1/agent/bootstrap').expect(401);
    await hub.api(tokens.admin).post('/api/v1/agent/bootstrap').expect(401);
    const { body } = await hub.api(agentToken).post('/api/v1/agent/bootstrap').expect(200);
    expect(body.cluster).toBe('auth-1');
  });

  it('health, readiness, metrics and the API docs need no token', async () => {
    const anonymous = hub.api(null);
    await anonymous.get('/healthz').expect(200);
    await anonymous.get('/readyz').expect(200);
    await anonymous.get('/metrics').expect(200);
    await anonymous.get('/api/openapi.json').expect(200);
  });

  it('without a token the API answers 401; a viewer reads but gets 403 registering a cluster', async () => {
    await hub.api(null).get('/api/v1/clusters').expect(401);
    const list = await hub.api(tokens.viewer).get('/api/v1/clusters').expect(200);
    expect(list.body.items.map((c: { name: string }) => c.name)).toContain('auth-1');
    const refused = await hub
      .api(tokens.viewer)
      .post('/api/v1/clusters')
      .send({ name: 'viewer-made' })
      .expect(403);
    expect(refused.body.message).toMatch(/needs the admin role/);
    await hub.api().get('/api/v1/clusters/viewer-made').expect(404);
  });

  it('a wrong scheme or a garbled header is a 401, not a 500', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', tokens.admin]) {
      await hub.api(null).get('/api/v1/status').set('authorization', header).expect(401);
    }
  });
});

describe('/api/v1/api-tokens', () => {
  it('creates a token shown once, lists it without the secret, and revokes it at once', async () => {
    const created = await hub
      .api()
      .post('/api/v1/api-tokens')
      .send({ name: 'ci-deployer', role: 'operator', description: 'CI' })
      .expect(201);
    expect(created.body).toMatchObject({
      name: 'ci-deployer',
      role: 'operator',
      description: 'CI',
    });
    expect(created.body.token).toMatch(/^flt_/);
    await hub.api(created.body.token).get('/api/v1/status').expect(200);

    // The use is recorded in the background (the request does not wait for that write).
    const body = await eventually(
      'the token listed with its last use',
      async () => (await hub.api().get('/api/v1/api-tokens').expect(200)).body,
      (b: { items: { name: string; lastUsedAt: string | null }[] }) =>
        b.items.some((t) => t.name === 'ci-deployer' && t.lastUsedAt !== null),
    );
    const listed = body.items.find((t) => t.name === 'ci-deployer')!;
    expect(Object.keys(listed).sort()).toEqual(
      ['createdAt', 'description', 'expiresAt', 'lastUsedAt', 'name', 'role'].sort(),
    );
    expect(JSON.stringify(body)).not.toContain(created.body.token);

    await hub.api().delete('/api/v1/api-tokens/ci-deployer').expect(204);
    await hub.api(created.body.token).get('/api/v1/status').expect(401);
    await hub.api().delete('/api/v1/api-tokens/ci-deployer').expect(404);
  });

  it.each([
    [{ name: 'x', role: 'root' }, /role/],
    [{ name: 'Bad Name', role: 'viewer' }, /name: must be a lowercase RFC 1123 label/],
    [{ name: 'ttl-bad', role: 'viewer', ttl: 'soon' }, /ttl: invalid duration/],
    [{ name: 'ttl-long', role: 'viewer', ttl: '50000h' }, /ttl: must be more than 0/],
    [{ role: 'viewer' }, /name/],
  ])('refuses %j with a 400', async (body, message) => {
    const res = await hub.api().post('/api/v1/api-tokens').send(body).expect(400);
    expect(res.body.message).toMatch(message);
  });

  it('a duplicate name is a 409', async () => {
    await hub.api().post('/api/v1/api-tokens').send({ name: 'dup', role: 'viewer' }).expect(201);
    await hub.api().post('/api/v1/api-tokens').send({ name: 'dup', role: 'admin' }).expect(409);
  });

  it('an expired token is refused with the reason', async () => {
    const { body } = await hub
      .api()
      .post('/api/v1/api-tokens')
      .send({ name: 'short', role: 'viewer', ttl: '3s' })
      .expect(201);
    await hub.api(body.token).get('/api/v1/status').expect(200);
    // Once its ttl has passed (however long a loaded machine took to get here).
    const res = await eventually(
      'the token refused',
      () => hub.api(body.token).get('/api/v1/status'),
      (r) => r.status === 401,
      { intervalMs: 200 },
    );
    expect(res.body.message).toMatch(/API token "short" expired/);
  });
});

describe('API authentication and roles (gRPC)', () => {
  it('UNAUTHENTICATED without a token, PERMISSION_DENIED for a viewer registering, OK for reads', async () => {
    const fleet = fleetClient(hub.grpcAddress!);
    try {
      await expect(fleet.call('ListClusters', {})).rejects.toMatchObject({
        code: GrpcStatus.UNAUTHENTICATED,
      });
      await expect(
        fleet.call('ListClusters', {}, fleet.auth('flt_not-a-real-token-at-all')),
      ).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
      const list = await fleet.call<{ items: { name: string }[] }>(
        'ListClusters',
        {},
        fleet.auth(tokens.viewer),
      );
      expect(list.items.map((c) => c.name)).toContain('auth-1');
      await expect(
        fleet.call('RegisterCluster', { name: 'grpc-viewer' }, fleet.auth(tokens.viewer)),
      ).rejects.toMatchObject({
        code: GrpcStatus.PERMISSION_DENIED,
        details: expect.stringMatching(/needs the admin role/),
      });
      await expect(
        fleet.call(
          'PauseRollout',
          { id: '00000000-0000-0000-0000-000000000000' },
          fleet.auth(tokens.viewer),
        ),
      ).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
      await expect(
        fleet.call(
          'PauseRollout',
          { id: '00000000-0000-0000-0000-000000000000' },
          fleet.auth(tokens.operator),
        ),
      ).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    } finally {
      fleet.client.close();
    }
  });

  it('a watch stream without a token ends UNAUTHENTICATED', async () => {
    const fleet = fleetClient(hub.grpcAddress!);
    try {
      const stream = fleet.client.WatchFleetStatus!({}, fleet.auth(undefined));
      const error = await new Promise<{ code: number }>((resolve) => {
        stream.on('error', resolve);
        stream.on('data', () => undefined);
      });
      expect(error.code).toBe(GrpcStatus.UNAUTHENTICATED);
    } finally {
      fleet.client.close();
    }
  });
});

describe('rate limits of the agent endpoints', () => {
  let limited: TestHub;
  beforeAll(async () => {
    limited = await startTestHub();
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it('an address that keeps presenting bad tokens gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const res = await limited.api(`fla_guess-${i}`).post('/api/v1/agent/bootstrap');
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(res.body.message).toMatch(/too many refused tokens/);
      }
    }
    expect(statuses.slice(0, 31).every((s) => s === 401)).toBe(true);
    expect(statuses[31]).toBe(429);
  });

  it('one token used too often gets 429, and the API itself is not limited', async () => {
    const other = await startTestHub();
    try {
      const { token } = (
        await other.api().post('/api/v1/clusters').send({ name: 'busy-1' }).expect(201)
      ).body;
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) {
        statuses.push((await other.api(token).post('/api/v1/agent/bootstrap')).status);
      }
      expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
      expect(statuses[60]).toBe(429);
      await other.api().get('/api/v1/clusters/busy-1').expect(200);
    } finally {
      await other.stop();
    }
  });
});

describe('auth switched off explicitly', () => {
  it('FLOTILLA_INSECURE_DISABLE_AUTH=true lets anyone in as an admin', async () => {
    const open = await startTestHub({ env: { FLOTILLA_INSECURE_DISABLE_AUTH: 'true' } });
    try {
      await open.api(null).post('/api/v1/clusters').send({ name: 'open-1' }).expect(201);
      await open.api(null).get('/api/v1/clusters/open-1').expect(200);
    } finally {
      await open.stop();
    }
  });
});
