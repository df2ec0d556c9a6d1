import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../libs/runtime/index.js';
import { eventually } from '../../libs/testing/index.js';
import { runCli, spawnCli } from '../support/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The environment of `npm start` on a fresh machine: no DATABASE_URL, no NATS_URL. */
async function bareEnv() {
  return {
    DATABASE_URL: undefined,
    NATS_URL: undefined,
    FLOTILLA_DATA_DIR: dataDir,
    PORT: String(await findFreePort()),
    GRPC_PORT: String(await findFreePort()),
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('flotilla hub with no environment (npm start)', () => {
  it('starts embedded PostgreSQL and nats-server, gets ready, keeps data across a restart, and Ctrl-C stops every child', async () => {
    const env = await bareEnv();
    const url = `http://127.0.0.1:${env.PORT}`;
    const first = spawnCli(['hub'], env);
    await eventually(
      '/readyz 200',
      () => fetch(`${url}/readyz`).then((r) => r.status),
      (s) => s === 200,
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    expect(first.output()).toMatch(/Postgres embedded/);
    expect(first.output()).toMatch(
      /Git {6}no file:\/\/ repositories \(FLOTILLA_FILE_URL_ROOT is unset\)/,
    );
    // The first start makes an admin API token and shows it once, in the hub's log: JSON lines
    // from pino, since the output is not a terminal.
    const adminToken = await eventually(
      'the generated admin token in the output',
      () => Promise.resolve(/\b(flt_[A-Za-z0-9_-]{40,})/.exec(first.output())?.[1]),
      (t) => t !== undefined,
    );
    const logLines = first
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { name?: string; level?: number; msg?: string });
    expect(
      logLines.find((l) => l.msg?.includes('Generated the bootstrap admin API token')),
    ).toMatchObject({
      name: 'flotilla-hub',
      level: 40,
    });
    const withToken = { FLOTILLA_TOKEN: adminToken };
    const anonymous = await runCli(['cluster', 'register', 'kept-0', '--server', url]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/Authorization: Bearer.*--token or FLOTILLA_TOKEN/);
    expect((await runCli(['cluster', 'register', 'kept-1', '--server', url], withToken)).code).toBe(
      0,
    );

    const natsPid = Number(readFileSync(join(dataDir, 'nats-server.pid'), 'utf8'));
    const pgPid = Number(
      readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    expect(isRunning(natsPid) && isRunning(pgPid)).toBe(true);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(isRunning(natsPid)).toBe(false);
    expect(isRunning(pgPid)).toBe(false);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    const second = spawnCli(['hub'], await bareEnv().then((e) => ({ ...e, PORT: env.PORT })));
    try {
      await eventually(
        '/readyz 200 again',
        () => fetch(`${url}/readyz`).then((r) => r.status),
        (s) => s === 200,
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      const res = await runCli(
        ['cluster', 'get', 'kept-1', '--server', url, '-o', 'json'],
        withToken,
      );
      expect(JSON.parse(res.stdout)).toMatchObject({ name: 'kept-1', state: 'Pending' });
      // The token outlives the restart and is not shown again.
      expect(second.output()).not.toMatch(/flt_/);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 300_000);

  it('--services with an unknown service is one clear error', async () => {
    const res = await runCli(['hub', '--services', 'api,billing'], await bareEnv());
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^error: unknown service\(s\) "billing"/);
  });
});

describe('npm run demo', () => {
  const demoEnv = {
    DATABASE_URL: undefined,
    NATS_URL: undefined,
    FLOTILLA_DATA_DIR: mkdtempSync(join(tmpdir(), 'flotilla-demo-')),
    PORT: '0',
    GRPC_PORT: '0',
  };
  const access = /^ {2}API {6}(http:\/\/\S+)\/api\/v1 .*\n {2}Token {4}(flt_\S+)$/m;

  it('starts the hub and three simulated clusters, deploys three kinds of bundles, rolls a commit out in stages, and rolls a failing one back', async () => {
    const res = await runCli(['demo', '--exit'], demoEnv);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(access);
    for (const name of ['eu-1', 'eu-2', 'us-1'])
      expect(res.stdout).toMatch(new RegExp(`${name}\\s+Online`));
    expect(res.stdout).toMatch(/group "prod": eu-1, eu-2/);
    // The dashboard's address and tokens to paste (admin, viewer).
    expect(res.stdout).toMatch(
      /^ {2}Dashboard http:\/\/\S+\/ {3}sign in with the token above \(admin[^\n]*\n\s+or the viewer token flt_\S+ \(read-only\)$/m,
    );
    // file:// GitRepos may read the demo's own repository and nothing else.
    expect(res.stdout).toMatch(/Git {6}file:\/\/ repositories only under \/.*\/demo-repo$/m);
    // GitOps: three bundles (plain YAML, Kustomize, Helm) on three clusters, then a commit.
    expect(res.stdout).toMatch(/all 9 deployments Ready at [0-9a-f]{8}/);
    // Staged rollout: the canary first; then a failing commit stops at the canary and rolls back.
    expect(res.stdout).toMatch(/canary\s+eu-1\s+Baking[\s\S]*rest\s+eu-2\s+Succeeded/);
    expect(res.stdout).toMatch(/rollout Succeeded: [0-9a-f]{8} reached every cluster/);
    expect(res.stdout).toMatch(/rollout RolledBack/);
    const final = res.stdout.slice(res.stdout.lastIndexOf('CLUSTER'));
    expect(final.match(/demo\/web\s+OutOfSync/g)).toHaveLength(3);
    // Each says why: held at the previous commit by the rolled back rollout.
    expect(
      final.match(/OutOfSync .*held at [0-9a-f]{8}: rollout [0-9a-f]{8} RolledBack/g),
    ).toHaveLength(3);
    expect(final.match(/\sReady\s/g)).toHaveLength(6);
  }, 300_000);

  it('a second run on the same data prints the API URL and a new admin token too', async () => {
    const res = await runCli(['demo', '--exit'], demoEnv);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(access);
  }, 300_000);
});
