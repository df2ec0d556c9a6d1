import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from './kube-client.js';
import { KubeConnection } from './kube-config.js';

function kubeconfig(opts: {
  server?: string;
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
  current?: string;
  name?: string;
}): string {
  const name = opts.name ?? 'test';
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: opts.server ?? 'https://api.example:6443/',
          ...opts.cluster,
        },
      },
    ],
    users: [{ name, user: opts.user ?? { token: `${name}-token` } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    ...(opts.current === '' ? {} : { 'current-context': opts.current ?? name }),
  });
}

describe('KubeConnection', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kubeconfig-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it('takes the current context, a bearer token, and files relative to the kubeconfig', async () => {
    await file('ca.crt', 'not a real CA');
    const path = await file(
      'config',
      kubeconfig({
        cluster: { 'certificate-authority': 'ca.crt' },
        user: { token: 'abc', as: 'someone' },
      }),
    );
    const connection = KubeConnection.fromFiles([path]);
    expect(connection.server).toBe('https://api.example:6443');
    expect(connection.cluster.caFile).toBe(join(dir, 'ca.crt'));
    const options = await connection.requestOptions();
    expect(options.headers).toEqual({ Authorization: 'Bearer abc', 'Impersonate-User': 'someone' });
    connection.close();
  });

  it('sends basic auth for a user with a password', async () => {
    const path = await file(
      'config',
      kubeconfig({ user: { username: 'admin', password: 'secret' } }),
    );
    const options = await KubeConnection.fromFiles([path]).requestOptions();
    expect(options.headers.Authorization).toBe(
      `Basic ${Buffer.from('admin:secret').toString('base64')}`,
    );
  });

  it('merges several files as kubectl does: the first name and current-context win', async () => {
    const first = await file('a', kubeconfig({ name: 'a' }));
    const second = await file(
      'b',
      kubeconfig({ name: 'a', server: 'https://other:6443', current: 'a' }),
    );
    const connection = KubeConnection.fromFiles([first, second]);
    expect(connection.server).toBe('https://api.example:6443');
    expect(KubeConnection.defaultPaths({ KUBECONFIG: `${first}${delimiter}${second}` })).toEqual([
      first,
      second,
    ]);
  });

  it('refuses a kubeconfig without a usable current context', async () => {
    const none = await file('none', kubeconfig({ current: '' }));
    expect(() => KubeConnection.fromFiles([none])).toThrow(/has no current-context/);
    const missing = await file('missing', kubeconfig({ current: 'elsewhere' }));
    expect(() => KubeConnection.fromFiles([missing])).toThrow(
      /current-context elsewhere does not exist/,
    );
  });

  it('refuses plain HTTP unless insecure-skip-tls-verify is set', async () => {
    const plain = await file('plain', kubeconfig({ server: 'http://127.0.0.1:8080' }));
    expect(() => KubeConnection.fromFiles([plain])).toThrow(/plain HTTP/);
    const allowed = await file(
      'allowed',
      kubeconfig({
        server: 'http://127.0.0.1:8080',
        cluster: { 'insecure-skip-tls-verify': true },
      }),
    );
    expect(KubeConnection.fromFiles([allowed]).server).toBe('http://127.0.0.1:8080');
  });

  it('uses the service account in a pod: its server, CA and token file', async () => {
    await file('token', 'sa-token');
    await file('ca.crt', 'not a real CA');
    const connection = KubeConnection.inCluster(dir, {
      KUBERNETES_SERVICE_HOST: 'fd00::1',
      KUBERNETES_SERVICE_PORT: '443',
    });
    expect(connection.server).toBe('https://[fd00::1]:443');
    expect((await connection.requestOptions()).headers.Authorization).toBe('Bearer sa-token');
    connection.close();
    expect(() => KubeConnection.inCluster(dir, {})).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  it("runs an exec credential plugin (client-node's authenticator)", async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    });
    const path = await file(
      'config',
      kubeconfig({
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: process.execPath,
            args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
          },
        },
      }),
    );
    const options = await KubeConnection.fromFiles([path]).requestOptions();
    expect(options.headers.Authorization).toBe('Bearer from-exec');
  });
});

describe('KubeClient.watch', () => {
  let server: Server | undefined;
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kubewatch-'));
  });

  afterEach(async () => {
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function client(handler: Parameters<typeof createServer>[1]): Promise<KubeClient> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const path = join(dir, 'config');
    await writeFile(
      path,
      kubeconfig({ server: url, cluster: { 'insecure-skip-tls-verify': true } }),
    );
    return new KubeClient(KubeConnection.fromFiles([path]), 1_000);
  }

  it('passes on events split across chunks, until the server ends the stream', async () => {
    const seen: string[] = [];
    let query = '';
    const kube = await client((req, res) => {
      query = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      const events = [
        JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }),
        JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'b' } } }),
      ].join('\n');
      res.write(events.slice(0, 20));
      setTimeout(() => res.end(`${events.slice(20)}\n`), 20);
    });
    await kube.watch(
      '/api/v1/pods',
      { labelSelector: 'a=b' },
      (type, object) =>
        seen.push(`${type} ${(object as { metadata: { name: string } }).metadata.name}`),
      new AbortController().signal,
      5_000,
    );
    expect(seen).toEqual(['ADDED a', 'DELETED b']);
    expect(query).toBe('/api/v1/pods?labelSelector=a%3Db&watch=true');
  });

  it('rejects with the HTTP status when the server refuses (410: too old)', async () => {
    const kube = await client((_req, res) => {
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 410, message: 'too old resource version' }));
    });
    const watching = kube.watch(
      '/api/v1/pods',
      {},
      () => undefined,
      new AbortController().signal,
      5_000,
    );
    await expect(watching).rejects.toThrow(KubeApiError);
    await expect(watching).rejects.toMatchObject({
      code: 410,
      message: /too old resource version/,
    });
  });

  it('ends a quiet watch on abort, and one open past its deadline', async () => {
    const kube = await client(() => {
      // never answers
    });
    const abort = new AbortController();
    const aborted = kube.watch('/api/v1/pods', {}, () => undefined, abort.signal, 5_000);
    abort.abort(new Error('stopped'));
    await expect(aborted).rejects.toThrow(/stopped/);
    await expect(
      kube.watch('/api/v1/pods', {}, () => undefined, new AbortController().signal, 100),
    ).rejects.toThrow(/still open after 100 ms/);
  });
});
