import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agents/agent/agent.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startCliRegisteredAgent } from '../support/agents.js';
import { runCli } from '../support/cli.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const cm = (value: string, name = 'app') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`;

let hub: TestHub;
let git: GitServer;
let locked: GitServer;
let agent: RunningAgent;
const flotilla = (...args: string[]) =>
  runCli([...args, '--server', hub.httpUrl], { FLOTILLA_TOKEN: hub.adminToken });

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  git = await startGitServer();
  locked = await startGitServer({ auth: { username: 'fleet', password: 'correct-horse' } });
  agent = await startCliRegisteredAgent(hub, 'edge-1', 'env=prod');
});
afterAll(async () => {
  await agent?.stop();
  await git?.stop();
  await locked?.stop();
  await hub?.stop();
});

describe('flotilla repo and status', () => {
  it('repo add registers a GitRepo; polling picks up a new commit without any sync', async () => {
    const repo = await git.createRepo('polled', { 'app/cm.yaml': cm('1') });
    const added = await flotilla(
      'repo',
      'add',
      'polled',
      '--url',
      repo.url,
      '--path',
      'app',
      '--target',
      'selector:env=prod',
      '--polling-interval',
      '1s',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^NAME\s+URL/m);
    const synced = async () =>
      JSON.parse((await flotilla('repo', 'get', 'polled', '-o', 'json')).stdout);
    const first = await eventually('polled Ready', synced, (r) => r.status.summary.ready === 1);
    const next = await git.commit('polled', { 'app/cm.yaml': cm('2') });
    expect(next).not.toBe(first.status.commit);
    await eventually(
      'polled at the new commit, Ready',
      synced,
      (r) => r.status.commit === next && r.status.summary.ready === 1,
    );
  });

  it('repo list and get show commit, bundles and readiness; status shows the fleet', async () => {
    const list = await flotilla('repo', 'list');
    expect(list.stdout).toMatch(/polled\s+\S+\s+main\s+[0-9a-f]{8}\s+1\s+1\/1/);
    const get = await flotilla('repo', 'get', 'polled');
    expect(get.stdout).toMatch(/Bundles: polled\/app/);
    expect(get.stdout).toMatch(/Deployments: Ready=1/);
    const status = await flotilla('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Clusters:\s+1 \(online 1, offline 0, pending 0\)/);
    expect(status.stdout).toMatch(/Deployments: 1 \(Ready 1\)/);
    expect(status.stdout).toMatch(/Counted at: +\d{4}-\d\d-\d\dT/);
    expect(status.stdout).toMatch(/Every deployment is Ready/);
    const yaml = parseYaml((await flotilla('status', '-o', 'yaml')).stdout);
    expect(yaml.deployments).toEqual({ total: 1, byState: { Ready: 1 } });
  });

  it('bad credentials are an error on that GitRepo, never echoed; the right ones sync', async () => {
    const repo = await locked.createRepo('private', { 'app/cm.yaml': cm('p', 'private-app') });
    const add = (password: string) =>
      runCli(
        [
          'repo',
          'add',
          'private',
          '--url',
          repo.url,
          '--path',
          'app',
          '--target',
          'cluster:edge-1',
          '--username',
          'fleet',
          '--server',
          hub.httpUrl,
        ],
        { FLOTILLA_GIT_PASSWORD: password, FLOTILLA_TOKEN: hub.adminToken },
      );
    expect((await add('wrong-password')).code).toBe(0);
    const failing = await eventually(
      'private has an auth error',
      async () => JSON.parse((await flotilla('repo', 'get', 'private', '-o', 'json')).stdout),
      (r) => r.status.error !== null,
    );
    expect(failing.status.error).toMatch(/auth|401|credentials/i);
    expect(JSON.stringify(failing)).not.toContain('wrong-password');
    expect(failing.auth).toBe('basic');
    // The other GitRepo keeps deploying.
    expect(
      JSON.parse((await flotilla('repo', 'get', 'polled', '-o', 'json')).stdout).status.error,
    ).toBeNull();

    expect((await flotilla('repo', 'delete', 'private')).code).toBe(0);
    expect((await add('correct-horse')).code).toBe(0);
    await eventually(
      'private Ready',
      async () => JSON.parse((await flotilla('repo', 'get', 'private', '-o', 'json')).stdout),
      (r) => r.status.error === null && r.status.summary.ready === 1,
    );
  });

  it('repo delete removes its bundles from the clusters', async () => {
    expect((await flotilla('repo', 'delete', 'polled')).code).toBe(0);
    await eventually(
      'edge-1 runs only private/app',
      async () => JSON.parse((await flotilla('cluster', 'get', 'edge-1', '-o', 'json')).stdout),
      (c) => c.deployments.map((d: { bundle: string }) => d.bundle).join(',') === 'private/app',
    );
    const missing = await flotilla('repo', 'get', 'polled');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('error: gitrepo "polled" not found');
  });

  it('a bad --target is one clear error', async () => {
    const res = await flotilla(
      'repo',
      'add',
      'x',
      '--url',
      'https://example.com/r.git',
      '--target',
      'region:eu',
    );
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^error: --target "region:eu"/);
  });
});
