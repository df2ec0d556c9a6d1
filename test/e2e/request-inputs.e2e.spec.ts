import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// What a viewer can send in paths and query strings: NUL bytes, repeated parameters, crafted
// continue tokens, huge selectors. Each is the caller's fault, so each is a 400 with a message
// (gRPC INVALID_ARGUMENT), never a 500.

let hub: TestHub;
let viewer: string;
let fleet: ReturnType<typeof fleetClient>;

beforeAll(async () => {
  hub = await startTestHub();
  const api = hub.api();
  await api
    .post('/api/v1/clusters')
    .send({ name: 'in-1', labels: { env: 'prod' } })
    .expect(201);
  await api.post('/api/v1/cluster-groups').send({ name: 'in-g', selector: 'env=prod' }).expect(201);
  await api
    .post('/api/v1/gitrepos')
    .send({ name: 'in-r', url: 'https://example.invalid/r.git', pollingInterval: '0' })
    .expect(201);
  viewer = (await api.post('/api/v1/api-tokens').send({ name: 'in-viewer', role: 'viewer' })).body
    .token;
  fleet = fleetClient(hub.grpcAddress!, viewer);
});
afterAll(async () => {
  fleet?.client.close();
  await hub?.stop();
});

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
/** A label selector with `n` values: `k in (v0,v1,...)`. */
const hugeSelector = (n: number) =>
  `k in (${Array.from({ length: n }, (_, i) => `v${i}`).join(',')})`;

describe('REST: what a viewer puts in a path or query is a 400, never a 500', () => {
  it.each([
    ['a NUL byte in a cluster name', '/api/v1/clusters/%00', /NUL/],
    ['a NUL byte inside a cluster name', '/api/v1/clusters/in-1%00x', /NUL/],
    ['a NUL byte in a bundle name', '/api/v1/bundles/in-r%2F%00', /NUL/],
    ['a NUL byte in a group name', '/api/v1/cluster-groups/%00', /NUL/],
    ['a NUL byte in a GitRepo name', '/api/v1/gitrepos/%00', /NUL/],
    ['a NUL byte in a rollout id', '/api/v1/rollouts/%00', /NUL/],
    ['a NUL byte in the gitrepo filter', '/api/v1/bundles?gitrepo=%00', /gitrepo.*NUL/],
    ['a NUL byte in the bundle filter', '/api/v1/rollouts?bundle=%00', /bundle.*NUL/],
    ['a NUL byte in the state filter', '/api/v1/rollouts?state=%00', /state.*NUL/],
    ['a NUL byte in a label selector', '/api/v1/clusters?labelSelector=env%3D%00', /NUL/],
    [
      'a repeated labelSelector',
      '/api/v1/clusters?labelSelector=a&labelSelector=b',
      /labelSelector.*more than once/,
    ],
    ['a repeated limit', '/api/v1/bundles?limit=1&limit=2', /limit.*more than once/],
    ['a repeated continue', '/api/v1/status?continue=a&continue=b', /continue.*more than once/],
    [
      'a continue token holding a NUL byte',
      `/api/v1/clusters?continue=${b64('{"a":"\\u0000"}')}`,
      /continue/,
    ],
    [
      'a continue token with a key that is no rollout position',
      `/api/v1/rollouts?continue=${b64('{"a":"yesterday|not-a-uuid"}')}`,
      /continue/,
    ],
    [
      'a continue token with a rollout position of another shape',
      `/api/v1/rollouts?continue=${b64('{"a":"x"}')}`,
      /continue/,
    ],
    [
      'a continue token with a key that is no offset',
      `/api/v1/status?continue=${b64('{"a":"1e400"}')}`,
      /continue/,
    ],
    [
      // As many values as fit in Node's 16 KiB request head; gRPC below sends 30,000.
      'a label selector with 1,500 values',
      `/api/v1/clusters?labelSelector=${encodeURIComponent(hugeSelector(1500))}`,
      /at most 1000 values/,
    ],
  ])('%s: 400 with a message', async (_behaviour, path, message) => {
    const res = await hub.api(viewer).get(path);
    expect(res.status, res.text).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.body.message).toMatch(message);
  });

  it('a selector at the cap is still answered', async () => {
    const res = await hub
      .api(viewer)
      .get('/api/v1/clusters')
      .query({ labelSelector: hugeSelector(1000) })
      .expect(200);
    expect(res.body.items).toEqual([]);
  });
});

describe('gRPC: the same inputs are INVALID_ARGUMENT, never INTERNAL', () => {
  it.each([
    [
      'ListClusters with 30,000 selector values',
      'ListClusters',
      { labelSelector: hugeSelector(30_000) },
      /at most 1000 values/,
    ],
    [
      'ListClusters with a NUL in the selector',
      'ListClusters',
      { labelSelector: 'env=\u0000' },
      /NUL/,
    ],
    ['GetCluster named with a NUL byte', 'GetCluster', { name: 'in-1\u0000' }, /name.*NUL/],
    ['GetRollout with a NUL byte', 'GetRollout', { id: '\u0000' }, /NUL/],
    ['ListRollouts filtered by a NUL byte', 'ListRollouts', { bundle: '\u0000' }, /bundle.*NUL/],
    [
      'ListRollouts with a crafted continue token',
      'ListRollouts',
      { continueToken: b64('{"a":"x|y"}') },
      /continue/,
    ],
    [
      'ListClusters with a continue token holding a NUL byte',
      'ListClusters',
      { continueToken: b64('{"a":"\\u0000"}') },
      /continue/,
    ],
  ])('%s', async (_behaviour, method, req, message) => {
    const err = await fleet.call(method, req).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(err?.code, err?.details).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err?.details).toMatch(message);
  });
});

/** A GET route of the OpenAPI document, with the names of its path and query parameters. */
interface GetRoute {
  path: string;
  pathParams: string[];
  queryParams: string[];
}

async function getRoutes(): Promise<GetRoute[]> {
  const doc = (await hub.api().get('/api/openapi.json').expect(200)).body as {
    paths: Record<
      string,
      {
        get?: {
          parameters?: { name: string; in: string }[];
          responses?: Record<string, { content?: Record<string, unknown> }>;
        };
      }
    >;
  };
  return Object.entries(doc.paths).flatMap(([path, item]) => {
    // A stream (server-sent events) never ends: a plain GET would wait for ever.
    if (!item.get || item.get.responses?.['200']?.content?.['text/event-stream']) return [];
    const params = item.get.parameters ?? [];
    return [
      {
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
      },
    ];
  });
}

/** Text a caller may send: anything, names that exist, and the shapes that broke things. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('in-1', 'in-g', 'in-r', 'in-r/x', 'env=prod', '0', '1', '-1', '5001', '%', '..'),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.jsonValue({ maxDepth: 2 }).map((v) => b64(JSON.stringify({ a: v }))),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => b64(JSON.stringify({ a: s }))),
  fc.string({ maxLength: 12 }).map((s) => b64(JSON.stringify({ a: `${s}|${s}` }))),
  fc.integer({ min: 1001, max: 1500 }).map(hugeSelector),
);

/** A request to one GET route: a value for each path parameter, some query parameters (some repeated). */
const getRequest = (routes: GetRoute[]) =>
  fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      pathValues: fc.tuple(...route.pathParams.map(() => text)),
      query: fc.array(
        fc.tuple(
          route.queryParams.length > 0 ? fc.constantFrom(...route.queryParams) : fc.string(),
          text,
        ),
        { maxLength: 4 },
      ),
    }),
  );

/** Whether a request carries what must always be refused: a NUL byte or a repeated parameter. */
function mustBeRefused(pathValues: string[], query: [string, string][]): boolean {
  const names = query.map(([name]) => name);
  return (
    [...pathValues, ...query.flat()].some((v) => v.includes('\u0000')) ||
    new Set(names).size !== names.length
  );
}

describe('every GET route, fuzzed', () => {
  it('the OpenAPI document names the routes and their filters (what the fuzzing covers)', async () => {
    const routes = await getRoutes();
    const byPath = new Map(routes.map((r) => [r.path, r]));
    expect(byPath.get('/api/v1/clusters')?.queryParams).toEqual(
      expect.arrayContaining(['labelSelector', 'limit', 'continue']),
    );
    expect(byPath.get('/api/v1/bundles')?.queryParams).toContain('gitrepo');
    expect(byPath.get('/api/v1/clusters/{name}')?.pathParams).toEqual(['name']);
    expect(routes.length).toBeGreaterThanOrEqual(14);
  });

  it('400 random paths and query strings over every GET route, as the admin: never a 5xx; a NUL byte or a repeated parameter is always a 400 with a message; the hub stays ready', async () => {
    const routes = await getRoutes();
    // As the admin, so that every route's handler is reached (a viewer gets 403 on some first).
    const api = hub.api();
    const failures: string[] = [];
    await fc
      .assert(
        fc.asyncProperty(getRequest(routes), async ({ route, pathValues, query }) => {
          let path = route.path;
          route.pathParams.forEach((name, i) => {
            path = path.replace(`{${name}}`, encodeURIComponent(pathValues[i] ?? ''));
          });
          const qs = query
            .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
            .join('&');
          const url = qs ? `${path}?${qs}` : path;
          // Node answers 431 itself for a request head over 16 KiB, before the hub sees it.
          fc.pre(url.length < 15_000);
          const res = await api.get(url);
          const refused = mustBeRefused(pathValues, query);
          // An empty path value (`/bundles//manifests`) matches no route: 404 before any check.
          const noRoute = pathValues.some((v) => v === '') && res.status === 404;
          const ok =
            res.status < 500 &&
            (!refused ||
              noRoute ||
              (res.status === 400 &&
                typeof res.body?.message === 'string' &&
                res.body.message.length > 0));
          if (!ok)
            failures.push(`GET ${url.slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}`);
          return ok;
        }),
        { numRuns: 400 },
      )
      .catch((err: unknown) => {
        throw new Error(`${String(err).slice(0, 1000)}\n${failures.slice(0, 5).join('\n')}`);
      });
    await hub.api().get('/readyz').expect(200);
  });
});
