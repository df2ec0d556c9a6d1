import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError, HubUnreachableError, UnexpectedResponseError } from './api-client.js';
import {
  refusedUrl,
  startFakeHub,
  type FakeAnswer,
  type FakeHub,
  type SeenRequest,
} from './fake-hub.testing.js';

let hub: FakeHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function fake(handle: (req: SeenRequest) => FakeAnswer): Promise<FakeHub> {
  hub = await startFakeHub(handle);
  return hub;
}

describe('ApiClient', () => {
  it('follows continue tokens to fetch every page of a list', async () => {
    const hub = await fake((req) =>
      req.query.continue === 'page2'
        ? { status: 200, body: { items: [{ name: 'c' }] } }
        : { status: 200, body: { items: [{ name: 'a' }, { name: 'b' }], continue: 'page2' } },
    );
    const client = new ApiClient(hub.url);
    const items = await client.list<{ name: string }>('/clusters', {
      labelSelector: 'env in (prod,dev)',
      limit: 2,
    });
    expect(items.map((i) => i.name)).toEqual(['a', 'b', 'c']);
    expect(hub.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/api/v1/clusters', { labelSelector: 'env in (prod,dev)', limit: '2' }],
      [
        'GET',
        '/api/v1/clusters',
        { labelSelector: 'env in (prod,dev)', limit: '2', continue: 'page2' },
      ],
    ]);
  });

  it('stops when the hub repeats a continue token', async () => {
    const hub = await fake(() => ({ status: 200, body: { items: [], continue: 'again' } }));
    await expect(new ApiClient(hub.url).list('/clusters')).rejects.toThrow(UnexpectedResponseError);
  });

  it('turns an error body into an ApiError with status and message', async () => {
    const hub = await fake(() => ({
      status: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'cluster "eu-1" already exists' },
    }));
    const err = await new ApiClient(hub.url)
      .post('/clusters', { name: 'eu-1', labels: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      message: 'cluster "eu-1" already exists',
    });
  });

  it('joins a list of validation messages', async () => {
    const hub = await fake(() => ({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: ['name is empty', 'bad label'] },
    }));
    await expect(new ApiClient(hub.url).get('/clusters')).rejects.toMatchObject({
      statusCode: 400,
      message: 'name is empty; bad label',
    });
  });

  it('reports a non-JSON error answer by its status', async () => {
    const hub = await fake(() => ({ status: 502 }));
    await expect(new ApiClient(hub.url).get('/clusters')).rejects.toMatchObject({
      statusCode: 502,
      message: `the server at ${hub.url} answered 502 Bad Gateway to GET /api/v1/clusters`,
    });
  });

  it('explains a refused connection in one line', async () => {
    const url = await refusedUrl();
    const err = await new ApiClient(url).get('/clusters').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubUnreachableError);
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot reach the hub at ${url}: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`),
    );
  });

  it('sends the token, JSON bodies, and returns undefined for a 204', async () => {
    const hub = await fake((req) =>
      req.method === 'DELETE' ? { status: 204 } : { status: 200, body: { ok: true } },
    );
    const client = new ApiClient(`${hub.url}/`, 's3cret');
    expect(await client.patch('/clusters/eu%2F1', { labels: { a: 'b' } })).toEqual({ ok: true });
    expect(await client.delete('/clusters/eu-1')).toBeUndefined();
    const [patch, del] = hub.requests;
    expect(patch).toMatchObject({
      method: 'PATCH',
      path: '/api/v1/clusters/eu%2F1',
      body: { labels: { a: 'b' } },
    });
    expect(patch?.headers.authorization).toBe('Bearer s3cret');
    expect(patch?.headers['content-type']).toBe('application/json');
    expect(del?.headers['content-type']).toBeUndefined();
  });

  it('sends no Authorization header without a token', async () => {
    const hub = await fake(() => ({ status: 200, body: {} }));
    await new ApiClient(hub.url).get('/status');
    expect(hub.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('rejects a server that is not an http(s) URL', () => {
    expect(() => new ApiClient('localhost:8080')).toThrow('invalid server URL "localhost:8080"');
    expect(() => new ApiClient('nope')).toThrow('invalid server URL "nope"');
  });
});
