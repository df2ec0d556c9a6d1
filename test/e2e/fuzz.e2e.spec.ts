import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;

beforeAll(async () => {
  hub = await startTestHub();
  const api = hub.api();
  await api
    .post('/api/v1/clusters')
    .send({ name: 'fuzz-1', labels: { env: 'prod' } })
    .expect(201);
  await api
    .post('/api/v1/cluster-groups')
    .send({ name: 'fuzz-g', selector: 'env=prod' })
    .expect(201);
  await api
    .post('/api/v1/gitrepos')
    .send({ name: 'fuzz-r', url: 'https://example.invalid/r.git', pollingInterval: '0' })
    .expect(201);
});
afterAll(async () => {
  await hub?.stop();
});

/** Every route that takes a body (ids that exist, so the body is what gets tested) and its fields. */
const routes: [method: 'post' | 'put' | 'patch', path: string, fields: string[]][] = [
  ['post', '/api/v1/clusters', ['name', 'labels']],
  ['patch', '/api/v1/clusters/fuzz-1', ['labels']],
  ['post', '/api/v1/cluster-groups', ['name', 'selector']],
  ['put', '/api/v1/cluster-groups/fuzz-g', ['name', 'selector']],
  ['post', '/api/v1/registration-tokens', ['ttl', 'maxUses', 'labels', 'description']],
  ['post', '/api/v1/api-tokens', ['name', 'role', 'ttl', 'description']],
  [
    'post',
    '/api/v1/gitrepos',
    [
      'name',
      'url',
      'branch',
      'revision',
      'paths',
      'pollingInterval',
      'targets',
      'auth',
      'webhookSecret',
    ],
  ],
  [
    'put',
    '/api/v1/gitrepos/fuzz-r',
    ['name', 'url', 'branch', 'paths', 'pollingInterval', 'targets'],
  ],
  ['post', '/api/v1/gitrepos/fuzz-r/sync', []],
  ['post', '/api/v1/agent/register', ['name', 'labels']],
  ['post', '/api/v1/agent/bootstrap', []],
  ['post', '/api/v1/webhooks/git', ['ref', 'after', 'repository']],
  ['post', '/api/v1/rollouts/00000000-0000-0000-0000-000000000000/pause', ['reason']],
];

/** Values of the right kind and of wrong kinds. */
const value = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    'eu-1',
    'env=prod',
    'env in (a,b)',
    '15s',
    '0',
    'https://example.invalid/r.git',
    'file:///etc',
    '../x',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(
    fc.oneof(
      fc.string(),
      fc.record({ clusterSelector: fc.string(), clusterName: fc.string() }, { requiredKeys: [] }),
    ),
    { maxLength: 3 },
  ),
  fc.dictionary(
    fc.string({ maxLength: 12 }),
    fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    { maxKeys: 4 },
  ),
);
/** For a route: bodies with (some of) its own fields, or any JSON at all. */
const bodyFor = (fields: string[]) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record(Object.fromEntries(fields.map((f) => [f, value])), { requiredKeys: [] }),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
const request_ = fc
  .constantFrom(...routes)
  .chain(([method, path, fields]) => bodyFor(fields).map((payload) => ({ method, path, payload })));

describe('random request bodies', () => {
  it('300 random JSON bodies across the routes that take one: only 2xx or 4xx, never 5xx, and the hub stays ready', async () => {
    const api = hub.api();
    const failures: string[] = [];
    await fc
      .assert(
        fc.asyncProperty(request_, async ({ method, path, payload }) => {
          const res = await api[method](path)
            .set('Content-Type', 'application/json')
            .set('X-GitHub-Event', 'push')
            .send(JSON.stringify(payload));
          if (res.status >= 500)
            failures.push(
              `${method.toUpperCase()} ${path} ${JSON.stringify(payload)} → ${res.status} ${res.text}`,
            );
          return res.status < 500 && typeof res.body === 'object';
        }),
        { numRuns: 300 },
      )
      .catch((err: unknown) => {
        throw new Error(`${String(err)}\n${failures.slice(0, 5).join('\n')}`);
      });
    await api.get('/readyz').expect(200);
  });
});
