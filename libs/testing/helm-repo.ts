// Helm charts for tests, made with the real `helm`: `helm package` for archives, `helm repo
// index` for a repository's index.yaml, served over HTTP on loopback (optionally behind basic
// auth), and `helm push` to an OCI registry.
import { execFile } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { resolveTool } from '../bundles/tools.js';

const run = promisify(execFile);

/** A chart to package: its Chart.yaml fields and files (templates/..., values.yaml, ...). */
export interface TestChart {
  name: string;
  version: string;
  appVersion?: string;
  dependencies?: { name: string; version: string; repository: string }[];
  files?: Record<string, string>;
}

/** Runs the real helm with a private HOME (no user config, no repositories). */
export async function runHelm(args: string[], home: string): Promise<string> {
  const helm = await resolveTool('helm');
  const { stdout } = await run(helm, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** A self-signed certificate for 127.0.0.1 (PEM key and certificate), made with openssl. */
export async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}

/** Writes `chart` under `dir/<name>/` and runs `helm package` into `dest`; returns the .tgz path. */
export async function packageChart(chart: TestChart, dir: string, dest: string): Promise<string> {
  const src = join(dir, `src-${chart.name}-${chart.version}`, chart.name);
  await mkdir(src, { recursive: true });
  await writeFile(
    join(src, 'Chart.yaml'),
    stringify({
      apiVersion: 'v2',
      name: chart.name,
      version: chart.version,
      ...(chart.appVersion === undefined ? {} : { appVersion: chart.appVersion }),
      ...(chart.dependencies === undefined ? {} : { dependencies: chart.dependencies }),
    }),
  );
  for (const [path, content] of Object.entries(chart.files ?? {})) {
    await mkdir(dirname(join(src, path)), { recursive: true });
    await writeFile(join(src, path), content);
  }
  await mkdir(dest, { recursive: true });
  await runHelm(['package', src, '--destination', dest], join(dir, 'helm-home'));
  return join(dest, `${chart.name}-${chart.version}.tgz`);
}

/** A Helm chart repository on loopback. */
export interface HelmRepo {
  /** The repository URL (`http://127.0.0.1:<port>/charts`). */
  url: string;
  /** Packages `chart` with `helm package` and re-indexes with `helm repo index`; returns the .tgz path. */
  add(chart: TestChart): Promise<string>;
  /** Requests served so far (`GET /charts/index.yaml`). */
  requests(): readonly string[];
  /** Overwrites a served file (to corrupt an archive). */
  overwrite(name: string, content: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts an empty Helm repository served on 127.0.0.1, over HTTP, or HTTPS with `tls` (a PEM
 * key and certificate), with optional basic auth.
 */
export async function startHelmRepo(
  options: {
    auth?: { username: string; password: string };
    tls?: { key: string; cert: string };
  } = {},
): Promise<HelmRepo> {
  const root = await mkdtemp(join(tmpdir(), 'flotilla-helm-repo-'));
  const served = join(root, 'charts');
  await mkdir(served);
  const log: string[] = [];
  const expected =
    options.auth === undefined
      ? undefined
      : `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(`${req.method ?? 'GET'} ${path}`);
    const given = req.headers.authorization ?? '';
    if (
      expected !== undefined &&
      !(
        given.length === expected.length &&
        timingSafeEqual(Buffer.from(given), Buffer.from(expected))
      )
    ) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' });
      res.end();
      return;
    }
    const rel = normalize(decodeURIComponent(path)).replace(/^\/+/, '');
    if (!rel.startsWith('charts/') || rel.includes('..')) {
      res.writeHead(404);
      res.end();
      return;
    }
    readFile(join(root, rel)).then(
      (data) => {
        res.writeHead(200, { 'content-length': String(data.length) });
        res.end(data);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  };
  const server =
    options.tls === undefined ? createServer(handler) : createHttpsServer(options.tls, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const scheme = options.tls === undefined ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
  return {
    url,
    async add(chart) {
      const tgz = await packageChart(chart, root, served);
      await runHelm(['repo', 'index', served], join(root, 'helm-home'));
      return tgz;
    },
    requests: () => log,
    overwrite: (name, content) => writeFile(join(served, name), content),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
