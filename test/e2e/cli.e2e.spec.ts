import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../libs/testing/index.js';
import { runCli, spawnCli } from '../support/cli.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let server: string[];

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  server = ['--server', hub.httpUrl];
});
afterAll(async () => {
  await hub?.stop();
});

const flotilla = (...args: string[]) =>
  runCli([...args, ...server], { FLOTILLA_TOKEN: hub.adminToken });

describe('flotilla cluster and group commands', () => {
  it('registers clusters and prints the agent token with how to run the agent', async () => {
    const res = await flotilla(
      'cluster',
      'register',
      'eu-1',
      '--label',
      'env=prod',
      '--label',
      'region=eu',
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/eu-1\s+Pending\s+env=prod,region=eu/);
    expect(res.stdout).toMatch(/fla_[A-Za-z0-9_-]+/);
    expect(res.stdout).toContain(`flotilla agent --hub ${hub.httpUrl} --token fla_`);
    expect(
      (await flotilla('cluster', 'register', 'us-1', '--label', 'env=prod', '--label', 'region=us'))
        .code,
    ).toBe(0);
    expect((await flotilla('cluster', 'register', 'dev-1', '--label', 'env=dev')).code).toBe(0);
  });

  it('lists with a label selector in every output format', async () => {
    const table = await flotilla('cluster', 'list', '-l', 'env=prod,region notin (us)');
    expect(
      table.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['NAME', 'eu-1']);
    const json = JSON.parse(
      (await flotilla('cluster', 'list', '-l', 'env=prod', '-o', 'json')).stdout,
    );
    expect(json.items.map((c: { name: string }) => c.name)).toEqual(['eu-1', 'us-1']);
    const yaml = parseYaml(
      (await flotilla('cluster', 'list', '-l', '!region', '-o', 'yaml')).stdout,
    );
    expect(yaml.items.map((c: { name: string }) => c.name)).toEqual(['dev-1']);
  });

  it('labels a cluster: adds, removes, and refuses to overwrite without --overwrite', async () => {
    expect((await flotilla('cluster', 'label', 'eu-1', 'tier=gold', 'region-')).code).toBe(0);
    const got = JSON.parse((await flotilla('cluster', 'get', 'eu-1', '-o', 'json')).stdout);
    expect(got.labels).toEqual({ env: 'prod', tier: 'gold' });
    const refused = await flotilla('cluster', 'label', 'eu-1', 'tier=silver');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tier/);
    expect((await flotilla('cluster', 'label', 'eu-1', 'tier=silver', '--overwrite')).code).toBe(0);
  });

  it('creates groups from selector strings and shows their members', async () => {
    const created = await flotilla(
      'group',
      'create',
      'prod',
      '--selector',
      'env=prod,tier in (silver,gold)',
    );
    expect(created.code).toBe(0);
    const group = JSON.parse((await flotilla('group', 'get', 'prod', '-o', 'json')).stdout);
    expect(group.clusters).toEqual(['eu-1']);
    const list = await flotilla('group', 'list');
    expect(list.stdout).toMatch(/prod\s+env=prod,tier in \(gold,silver\)\s+1/);
    expect((await flotilla('group', 'delete', 'prod')).code).toBe(0);
  });

  it.each([
    {
      name: 'an invalid cluster name',
      args: ['cluster', 'register', 'Bad_Name'],
      message: /^error: name "Bad_Name"/,
    },
    {
      name: 'an invalid selector',
      args: ['cluster', 'list', '-l', 'env in prod'],
      message: /^error: invalid label selector/,
    },
    {
      name: 'a missing cluster',
      args: ['cluster', 'get', 'nope'],
      message: /^error: cluster "nope" not found/,
    },
    {
      name: 'a duplicate cluster',
      args: ['cluster', 'register', 'eu-1'],
      message: /^error: cluster "eu-1" already exists/,
    },
    {
      name: 'a malformed label argument',
      args: ['cluster', 'register', 'x-1', '--label', 'env'],
      message: /^error: .*key=value/,
    },
    {
      name: 'an unknown output format',
      args: ['cluster', 'list', '-o', 'xml'],
      message: /^error: .*xml/,
    },
  ])('$name is one clear error line and exit code 1', async ({ args, message }) => {
    const res = await flotilla(...args);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr.trim()).toMatch(message);
  });

  it('a hub that cannot be reached is one clear error line', async () => {
    const res = await runCli(['cluster', 'list', '--server', 'http://127.0.0.1:9']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^error: cannot reach the hub at http:\/\/127\.0\.0\.1:9/);
  });
});

describe('flotilla agent', () => {
  it('an agent started with its token goes Online, and Offline once it is killed', async () => {
    const reg = JSON.parse((await flotilla('cluster', 'register', 'agent-1', '-o', 'json')).stdout);
    const agent = spawnCli([
      'agent',
      '--hub',
      hub.httpUrl,
      '--token',
      reg.token,
      '--simulate',
      '--heartbeat-interval',
      '300ms',
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'flotilla-agent-')),
    ]);
    try {
      const state = async () =>
        JSON.parse((await flotilla('cluster', 'get', 'agent-1', '-o', 'json')).stdout);
      await eventually('agent-1 Online', state, (c) => c.state === 'Online');
      agent.child.kill('SIGKILL');
      await agent.exited;
      // How soon the lease lapses is timed in heartbeat-ingest.medium.spec.ts on a fake clock.
      await eventually('agent-1 Offline', state, (c) => c.state === 'Offline');
    } finally {
      agent.child.kill('SIGKILL');
    }
  });

  it('an agent with a registration token registers itself under --name with its labels', async () => {
    const token = await fetch(`${hub.httpUrl}/api/v1/registration-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${hub.adminToken}` },
      body: JSON.stringify({ maxUses: 1, labels: { site: 'edge' } }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const agent = spawnCli([
      'agent',
      '--hub',
      hub.httpUrl,
      '--token',
      token.token,
      '--simulate',
      '--name',
      'edge-7',
      '--label',
      'env=prod',
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'flotilla-agent-')),
    ]);
    try {
      const cluster = await eventually(
        'edge-7 Online',
        async () =>
          JSON.parse((await flotilla('cluster', 'get', 'edge-7', '-o', 'json')).stdout || '{}'),
        (c) => c.state === 'Online',
      );
      expect(cluster.labels).toEqual({ site: 'edge', env: 'prod' });
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
  });

  it('an agent with a wrong token stops with one clear error', async () => {
    const res = await runCli([
      'agent',
      '--hub',
      hub.httpUrl,
      '--token',
      'fla_nope',
      '--simulate',
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'fa-')),
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/error: .*401/);
  });
});
