import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { SkippableClock } from '../../libs/testing/fake-clock.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { runCli } from '../support/cli.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { appDeployment, ringClusters, ringStrategy } from '../support/rollout-fixtures.js';

// The canary bakes 60 s of the hub's clock: a CLI process finds and pauses the rollout long before
// the rest is released, however slow the machine; the tests skip the bake (`clock.advance`) when
// they want the rollout to go on rather than waiting it out.
const CANARY_BAKE_MS = 60_000;
const strategy = ringStrategy({ canaryBake: '60s', restBake: '1s' });
/** The hub's clock: the test skips the canary's bake time rather than waiting it out. */
const clock = new SkippableClock();
const app = (version: string, outcome = 'ready') =>
  appDeployment(version, { outcome, readyAfter: '200ms' });
const clusters = ringClusters;

interface RolloutJson {
  id: string;
  bundle: string;
  toCommit: string;
  state: string;
  stages: { name: string; clusters: { name: string; state: string }[] }[];
  audit?: { actor: string; action: string; from: string | null; to: string | null }[];
}

let hub: TestHub;
let git: GitServer;
const agents: RunningAgent[] = [];
const flotilla = (...args: string[]) =>
  runCli([...args, '--server', hub.httpUrl], { FLOTILLA_TOKEN: hub.adminToken });

async function rollouts(): Promise<RolloutJson[]> {
  const res = await flotilla('rollout', 'list', '--bundle', 'ring/app', '-o', 'json');
  if (res.code !== 0) throw new Error(res.stderr);
  return (JSON.parse(res.stdout) as { items: RolloutJson[] }).items;
}
async function rolloutFor(commit: string): Promise<RolloutJson> {
  const list = await eventually('a rollout of the commit', rollouts, (items) =>
    items.some((r) => r.toCommit === commit),
  );
  return list.find((r) => r.toCommit === commit)!;
}

/** Waits until the rollout's canary is Ready (its bake has begun). */
async function canaryReady(id: string, what = 'the canary Ready'): Promise<void> {
  await eventually(
    what,
    async () => (await hub.api().get(`/api/v1/rollouts/${id}`).expect(200)).body,
    (d) => d.stages[0].clusters[0].readySince != null,
  );
}

/** Index of the first output line matching `pattern`; -1 when none does. */
function lineIndex(lines: string[], pattern: RegExp): number {
  return lines.findIndex((l) => pattern.test(l));
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms', clock });
  git = await startGitServer();
  const registered = await Promise.all(
    clusters.map((name) =>
      flotilla(
        'cluster',
        'register',
        name,
        '--label',
        name === 'c1' ? 'ring=canary' : 'ring=main',
        '-o',
        'json',
      ),
    ),
  );
  for (const [i, res] of registered.entries()) {
    expect(res.code, res.stderr).toBe(0);
    const { token } = JSON.parse(res.stdout) as { token: string };
    agents.push(
      await startAgent({
        hubUrl: hub.httpUrl,
        token,
        driver: new SimulatedCluster(),
        stateDir: mkdtempSync(join(tmpdir(), `flotilla-${clusters[i]}-`)),
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      }),
    );
  }
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  await hub?.stop();
});

describe('flotilla rollout', () => {
  it('list shows the rollout; watch follows it, canary first, and exits 0 on Succeeded', async () => {
    const repo = await git.createRepo('ring', {
      'app/fleet.yaml': strategy,
      'app/app.yaml': app('1'),
    });
    const added = await flotilla(
      'repo',
      'add',
      'ring',
      '--url',
      repo.url,
      '--target',
      'selector:',
      '--polling-interval',
      '0',
    );
    expect(added.code, added.stderr).toBe(0);
    const [listed] = await eventually(
      'a rollout of ring/app',
      rollouts,
      (items) => items.length > 0,
    );
    expect(listed).toMatchObject({ bundle: 'ring/app' });
    expect(listed!.stages.map((s) => [s.name, s.clusters.map((c) => c.name)])).toEqual([
      ['canary', ['c1']],
      ['rest', ['c2', 'c3', 'c4', 'c5']],
    ]);

    const watching = flotilla('rollout', 'watch', listed!.id.slice(0, 8), '--interval', '0.2');
    await canaryReady(listed!.id);
    clock.advance(CANARY_BAKE_MS + 500);
    const watch = await watching;
    expect(watch.stderr).toBe('');
    expect(watch.code).toBe(0);
    const lines = watch.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^rollout ${listed!.id.slice(0, 8)} ring/app <none>→[0-9a-f]{8}: \\w+ \\d/5 clusters`,
      ),
    );
    expect(lines.at(-1)).toMatch(/ ended Succeeded: 5\/5 clusters succeeded/);
    const canaryDone = lineIndex(lines, /^stage canary: Succeeded 1\/1$/);
    const restMoving = lineIndex(
      lines,
      /^stage rest: \w+ [1-4]\/4|^stage rest: .*(updating|baking)/,
    );
    expect(canaryDone).toBeGreaterThanOrEqual(0);
    expect(restMoving).toBeGreaterThan(canaryDone);
    expect(lines).toContain('stage rest: Succeeded 4/4');

    const table = await flotilla('rollout', 'list');
    expect(table.stdout).toMatch(/^ID\s+BUNDLE\s+FROM→TO\s+STATE\s+PROGRESS\s+STAGE\s+AGE$/m);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${listed!.id.slice(0, 8)}\\s+ring/app\\s+<none>→[0-9a-f]{8}\\s+Succeeded\\s+5/5\\s+-\\s`,
        'm',
      ),
    );
  });

  it('watch exits 1 and says so when a failing commit is rolled back at the canary', async () => {
    const head = await git.commit('ring', { 'app/app.yaml': app('2', 'fail') });
    expect((await flotilla('repo', 'sync', 'ring')).code).toBe(0);
    const r = await rolloutFor(head);
    const watch = await flotilla('rollout', 'watch', r.id, '--interval', '0.2');
    expect(watch.code).toBe(1);
    expect(watch.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /ended RolledBack: 0\/5 clusters succeeded, 1 failed \(c1\)/,
    );
    expect(watch.stderr.trim()).toBe(`error: rollout ${r.id.slice(0, 8)} ended RolledBack`);
    expect(watch.stdout).not.toMatch(/^stage rest: .*updating/m);
  });

  it('pause holds it with the reason in the audit trail; a second pause is refused; resume completes it', async () => {
    const head = await git.commit('ring', { 'app/app.yaml': app('3') });
    expect((await flotilla('repo', 'sync', 'ring')).code).toBe(0);
    const r = await rolloutFor(head);
    const prefix = r.id.slice(0, 6);

    const paused = await flotilla('rollout', 'pause', prefix, '--reason', 'checking dashboards');
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^ID\s+BUNDLE\s+STATE\s+PROGRESS\s+STAGE\s+REASON$/m);
    expect(paused.stdout).toMatch(
      new RegExp(
        `^${r.id.slice(0, 8)}\\s+ring/app\\s+Paused\\s+.*paused by api:bootstrap-admin: checking dashboards$`,
        'm',
      ),
    );

    const get = await flotilla('rollout', 'get', prefix);
    expect(get.code).toBe(0);
    expect(get.stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^Rollout ${r.id} of ring/app [0-9a-f]{8}→${head.slice(0, 8)}: Paused \\(paused by api:bootstrap-admin: checking dashboards\\)`,
      ),
    );
    expect(get.stdout).toMatch(/^NAME\s+STATE\s+CLUSTERS$/m);
    expect(get.stdout).toMatch(/^rest\s+\w+\s+0\/4$/m);
    expect(get.stdout).toMatch(/^CLUSTER\s+STAGE\s+STATE\s+REASON$/m);
    expect(get.stdout).toMatch(
      /^\S+Z\s+api:bootstrap-admin\s+RolloutStateChanged\s+Progressing→Paused\s+paused by api:bootstrap-admin: checking dashboards$/m,
    );
    const detail = JSON.parse(
      (await flotilla('rollout', 'get', r.id, '-o', 'json')).stdout,
    ) as RolloutJson;
    expect(detail.state).toBe('Paused');
    expect(detail.audit).toContainEqual(
      expect.objectContaining({
        actor: 'api:bootstrap-admin',
        from: 'Progressing',
        to: 'Paused',
        reason: 'paused by api:bootstrap-admin: checking dashboards',
      }),
    );

    // Once the canary is Ready (its bake begins), longer than its bake time passes: the rest is
    // still held back. (The refused pause plans the rollout again at that time.)
    await canaryReady(r.id, 'the canary Ready while paused');
    clock.advance(CANARY_BAKE_MS + 500);
    const again = await flotilla('rollout', 'pause', prefix);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('error: the rollout is already paused\n');
    const held = JSON.parse(
      (await flotilla('rollout', 'get', prefix, '-o', 'json')).stdout,
    ) as RolloutJson;
    expect(held.state).toBe('Paused');
    expect(held.stages[1]!.clusters.every((c) => c.state === 'Waiting')).toBe(true);

    const resumed = await flotilla('rollout', 'resume', prefix, '-o', 'yaml');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^state: Progressing$/m);
    const watch = await flotilla('rollout', 'watch', prefix, '--interval', '0.2');
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    expect(watch.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /ended Succeeded: 5\/5 clusters succeeded/,
    );
  });

  it('a short or unknown id prefix is one clear error', async () => {
    const short = await flotilla('rollout', 'get', 'abc');
    expect(short.code).toBe(1);
    expect(short.stderr).toBe(
      'error: rollout id "abc" is too short: give the full id or at least 4 characters of it\n',
    );
    const ids = (await rollouts()).map((r) => r.id);
    const unknown = ['0000', '1111', '2222', '3333'].find(
      (p) => !ids.some((id) => id.startsWith(p)),
    )!;
    const missing = await flotilla('rollout', 'watch', unknown);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: no rollout id starts with "${unknown}"\n`);
  });
});
