import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agents/agent/agent.js';
import { flotillaVersion } from '../../libs/contracts/project-root.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startCliRegisteredAgent } from '../support/agents.js';
import { runCli } from '../support/cli.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const cm = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {v: "${value}"}\n`;

let hub: TestHub;
let git: GitServer;
let agent: RunningAgent;
const flotilla = (...args: string[]) =>
  runCli([...args, '--server', hub.httpUrl], { FLOTILLA_TOKEN: hub.adminToken });

/** The value of one series of the Prometheus text, or undefined when it is not there. */
function series(text: string, name: string, labels = ''): number | undefined {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}()[\].*+?^$|\\]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  git = await startGitServer();
  agent = await startCliRegisteredAgent(hub, 'edge-1', 'env=prod');
});
afterAll(async () => {
  await agent?.stop();
  await git?.stop();
  await hub?.stop();
});

describe('metrics after a sync, and the CLI against a real hub', () => {
  it('flotilla wait returns once the commit is Ready; /metrics has the fleet, sync, render, fan-out and ingest series', async () => {
    const repo = await git.createRepo('shop', { 'app/cm.yaml': cm('1') });
    const added = await flotilla(
      'repo',
      'add',
      'shop',
      '--url',
      repo.url,
      '--path',
      'app',
      '--target',
      'selector:env=prod',
    );
    expect(added.code).toBe(0);
    const waited = await flotilla('wait', '--repo', 'shop', '-l', 'env=prod', '--timeout', '90s');
    expect(waited.stderr).not.toMatch(/^error/m);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/^commit [0-9a-f]{8} is Ready on 1 cluster\(s\)/);

    const text = await eventually(
      'the sync and the status report in /metrics',
      () => fetch(`${hub.httpUrl}/metrics`).then((r) => r.text()),
      (t) => (series(t, 'flotilla_status_ingest_lag_seconds_count') ?? 0) >= 1,
    );
    expect(series(text, 'flotilla_clusters', 'state="Online"')).toBe(1);
    expect(series(text, 'flotilla_clusters', 'state="Offline"')).toBe(0);
    expect(series(text, 'flotilla_deployments', 'bundle="shop/app",state="Ready"')).toBe(1);
    expect(series(text, 'flotilla_gitrepos', 'state="ok"')).toBe(1);
    expect(series(text, 'flotilla_gitrepos', 'state="error"')).toBe(0);
    expect(
      series(text, 'flotilla_gitrepo_sync_duration_seconds_count', 'outcome="ok"'),
    ).toBeGreaterThanOrEqual(1);
    expect(series(text, 'flotilla_bundle_render_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'flotilla_nats_reconnects_total')).toBe(0);
    // The sync's desired state was fanned out to the agent (and timed).
    expect(series(text, 'flotilla_desired_state_fanout_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^# TYPE flotilla_desired_state_fanout_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE flotilla_rollouts gauge$/m);
    expect(text).toMatch(/^# TYPE flotilla_rollout_stage_duration_seconds histogram$/m);
  });

  it('a GitRepo that cannot be fetched shows as an error in /metrics', async () => {
    const added = await flotilla(
      'repo',
      'add',
      'gone',
      '--url',
      `${git.url}/does-not-exist.git`,
      '--path',
      'app',
    );
    expect(added.code).toBe(0);
    const text = await eventually(
      'gitrepos{state="error"} 1',
      () => fetch(`${hub.httpUrl}/metrics`).then((r) => r.text()),
      (t) => series(t, 'flotilla_gitrepos', 'state="error"') === 1,
    );
    expect(
      series(text, 'flotilla_gitrepo_sync_duration_seconds_count', 'outcome="error"'),
    ).toBeGreaterThanOrEqual(1);
  });

  it('flotilla wait exits 1 on timeout and says which cluster is missing what', async () => {
    const res = await flotilla(
      'wait',
      '--repo',
      'shop',
      '--commit',
      'deadbeef',
      '--cluster',
      'edge-1',
      '--timeout',
      '1s',
      '--interval',
      '200ms',
    );
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^ {2}edge-1: shop\/app is at [0-9a-f]{8}$/m);
  });

  it('flotilla version shows the hub version', async () => {
    const res = await flotilla('version');
    expect(res.stdout).toBe(
      `Client: ${flotillaVersion()}\nHub:    ${flotillaVersion()} (${hub.httpUrl})\n`,
    );
  });
});
