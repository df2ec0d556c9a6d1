import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesCluster } from './kubernetes-cluster.js';

function kubeconfig(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: test',
    '    cluster:',
    `      server: ${server}`,
    '      insecure-skip-tls-verify: true',
    'users:',
    '  - name: test',
    '    user:',
    '      token: test-token',
    'contexts:',
    '  - name: test',
    '    context: {cluster: test, user: test}',
    'current-context: test',
    '',
  ].join('\n');
}

describe('KubernetesCluster', () => {
  let dir: string;
  let server: Server | undefined;
  const requests: { url: string | undefined; auth: string | undefined }[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kube-'));
    requests.length = 0;
  });

  afterEach(async () => {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function fakeApiServer(): Promise<string> {
    server = createServer((req, res) => {
      requests.push({ url: req.url, auth: req.headers.authorization });
      if (req.url === '/version') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ major: '1', minor: '30', gitVersion: 'v1.30.4' }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function writeKubeconfig(url: string): Promise<string> {
    const path = join(dir, 'kubeconfig');
    await writeFile(path, kubeconfig(url));
    return path;
  }

  it('asks the API server for its version, and caches it', async () => {
    const path = await writeKubeconfig(await fakeApiServer());
    const cluster = new KubernetesCluster({ kubeconfigPath: path });
    expect(cluster.kind).toBe('kubernetes');
    expect(await cluster.kubernetesVersion()).toBe('v1.30.4');
    expect(await cluster.kubernetesVersion()).toBe('v1.30.4');
    expect(requests).toEqual([{ url: '/version', auth: 'Bearer test-token' }]);
    await cluster.close();
  });

  it('asks again once the cache period is over', async () => {
    const path = await writeKubeconfig(await fakeApiServer());
    const cluster = new KubernetesCluster({ kubeconfigPath: path, versionCacheMs: 0 });
    await cluster.kubernetesVersion();
    await cluster.kubernetesVersion();
    expect(requests).toHaveLength(2);
    await cluster.close();
  });

  it('rejects with a clear message when the API server is unreachable', async () => {
    const url = await fakeApiServer();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const cluster = new KubernetesCluster({ kubeconfigPath: await writeKubeconfig(url) });
    await expect(cluster.kubernetesVersion()).rejects.toThrow(
      new RegExp(
        `^cannot get the Kubernetes version from the API server at ${url}: .*ECONNREFUSED`,
      ),
    );
    await cluster.close();
  });

  it('rejects with the status when the API server refuses', async () => {
    server = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', message: 'forbidden: no access to /version' }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cluster = new KubernetesCluster({ kubeconfigPath: await writeKubeconfig(url) });
    await expect(cluster.kubernetesVersion()).rejects.toThrow(
      /answered HTTP 403: forbidden: no access to \/version/,
    );
    await cluster.close();
  });

  it('times out a request that gets no answer', async () => {
    server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cluster = new KubernetesCluster({
      kubeconfigPath: await writeKubeconfig(url),
      requestTimeoutMs: 200,
    });
    await expect(cluster.kubernetesVersion()).rejects.toThrow(/timed out after 200 ms/);
    await cluster.close();
    server.closeAllConnections();
  });

  it('fails to construct with a clear message when the kubeconfig is missing', () => {
    expect(() => new KubernetesCluster({ kubeconfigPath: join(dir, 'nope') })).toThrow(
      /^cannot load the Kubernetes configuration: .*nope/,
    );
  });
});
