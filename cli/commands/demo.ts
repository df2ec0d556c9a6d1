import { Command } from 'commander';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadHubConfig } from '../../libs/config/config.js';
import { ApiClient, ApiError } from '../api-client.js';
import { stopOnSignal } from '../lifecycle.js';
import { formatAge, formatLabels, formatTable } from '../output.js';
import type { SimulatedClusterSpec } from '../sim-fleet.js';
import { describeHub } from './hub.js';

interface ClusterRow {
  name: string;
  labels: Record<string, string>;
  state: string;
  lastSeen: string | null;
  kubernetesVersion: string | null;
}

/** The three clusters of the demo. */
export const demoClusters: SimulatedClusterSpec[] = [
  { name: 'eu-1', labels: { env: 'prod', region: 'eu', ring: 'canary' } },
  { name: 'eu-2', labels: { env: 'prod', region: 'eu' } },
  { name: 'us-1', labels: { env: 'staging', region: 'us' } },
];

function fleetTable(clusters: ClusterRow[]): string {
  return formatTable({
    columns: ['NAME', 'STATE', 'LABELS', 'LAST SEEN', 'KUBERNETES'],
    rows: clusters.map((c) => [
      c.name,
      c.state,
      formatLabels(c.labels),
      formatAge(c.lastSeen),
      c.kubernetesVersion ?? '',
    ]),
  });
}

/** `flotilla demo` (`npm run demo`): a narrated tour on one machine. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('start the hub and three simulated clusters, and show the fleet')
    .option('--exit', 'stop once the tour is over instead of running until Ctrl-C')
    .action(async (opts: { exit?: boolean }) => {
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const dataDir = process.env.FLOTILLA_DATA_DIR ?? join('.flotilla', 'demo');
      const env = {
        ...process.env,
        FLOTILLA_DATA_DIR: dataDir,
        // The demo's Git repository is on this machine, and file:// GitRepos may read only it.
        FLOTILLA_FILE_URL_ROOT: process.env.FLOTILLA_FILE_URL_ROOT ?? join(dataDir, 'demo-repo'),
      };
      const config = loadHubConfig(env);

      const { runHub } = await import('../../services/hub/hub.js');
      const { startSimulatedFleet } = await import('../sim-fleet.js');
      say(`▶ Starting the hub (data in ${config.dataDir})…`);
      const hub = await runHub({
        config,
        logLevels: ['fatal', 'error', 'warn'],
        // The demo narrates in the terminal; its few warnings read better as text.
        logFormat: config.logFormat ?? 'text',
      });
      say(describeHub(hub));
      const apiToken = await hub.issueApiToken('demo', 'admin');
      const viewerToken = await hub.issueApiToken('demo-viewer', 'viewer');
      const api = new ApiClient(hub.httpUrl, apiToken);
      // Every run says where the hub is and with which token to reach it: the hub prints its own
      // bootstrap token only at its very first start, and a second run would leave users at 401.
      say(accessLines(hub.httpUrl, apiToken));
      say(`  Dashboard ${hub.httpUrl}/   sign in with the token above (admin: may act on rollouts)
           or the viewer token ${viewerToken} (read-only)`);

      say(
        '\n▶ Starting three simulated clusters; each agent registers itself with a registration token…',
      );
      const fleet = await startSimulatedFleet(
        hub.httpUrl,
        join(config.dataDir, 'agents'),
        demoClusters,
        {
          apiToken,
          heartbeatIntervalMs: 1000,
        },
      ).catch(async (err: unknown) => {
        await hub.close();
        throw err;
      });
      const shutdown = async () => {
        await fleet.stop();
        await hub.close();
      };

      say('▶ Waiting for their heartbeats…');
      const names = new Set(demoClusters.map((c) => c.name));
      const deadline = Date.now() + 30_000;
      let clusters: ClusterRow[] = [];
      for (;;) {
        clusters = (await api.list<ClusterRow>('/clusters')).filter((c) => names.has(c.name));
        if (clusters.length === names.size && clusters.every((c) => c.state === 'Online')) break;
        if (Date.now() > deadline) {
          await shutdown();
          throw new Error(
            `the simulated clusters did not come Online within 30 s:\n${fleetTable(clusters)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      say(`\nThe fleet (${clusters.length} clusters Online):\n`);
      say(fleetTable(clusters));

      say('▶ Grouping the production clusters by label (env=prod)…');
      try {
        await api.post('/cluster-groups', { name: 'prod', selector: 'env=prod' });
      } catch (err) {
        if (!(err instanceof ApiError && err.statusCode === 409)) throw err;
      }
      const group = await api.get<{
        clusters: string[];
        summary: { online: number; total: number };
      }>('/cluster-groups/prod');
      say(
        `  group "prod": ${group.clusters.join(', ')} (${group.summary.online}/${group.summary.total} online)`,
      );

      const { commitFiles, demoFiles, workload } = await import('../demo-repo.js');
      const repoDir = resolve(config.dataDir, 'demo-repo');
      say(`\n▶ Writing a Git repository with three bundles to ${repoDir}:`);
      say('    apps/web       plain YAML (Deployment + ConfigMap)');
      say('    apps/frontend  Kustomize, with an overlay for region=eu clusters');
      say('    apps/metrics   a Helm chart, with more replicas on the canary');
      let head = await commitFiles(
        repoDir,
        demoFiles('hello from v1'),
        'Demo fleet: web, frontend, metrics',
      );
      const body = {
        name: 'demo',
        url: pathToFileURL(repoDir).href,
        branch: 'main',
        paths: ['apps'],
        pollingInterval: '5s',
        targets: [{ clusterSelector: '' }],
      };
      say('▶ Registering it: every cluster gets every bundle, rendered per cluster variant…');
      try {
        await api.post('/gitrepos', body);
      } catch (err) {
        if (!(err instanceof ApiError && err.statusCode === 409)) throw err;
        await api.put('/gitrepos/demo', body);
      }
      const expected = demoClusters.length * 3;
      let started = Date.now();
      await waitFor(api, head, expected);
      say(
        `  all ${expected} deployments Ready at ${head.slice(0, 8)} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
      say(await deploymentsTable(api));

      say('▶ Committing a change to apps/web (message "hello from v2"); web rolls out in stages:');
      say('    canary (ring=canary, bake 3 s) → rest (one cluster at a time), rollback on failure');
      head = await commitFiles(
        repoDir,
        { 'apps/web/config.yaml': demoFiles('hello from v2')['apps/web/config.yaml']! },
        'web: v2',
      );
      started = Date.now();
      await api.post('/gitrepos/demo/sync');
      const good = await narrateRollout(api, 'demo/web', head, say);
      await waitFor(api, head, expected);
      say(
        `  rollout ${good.state}: ${head.slice(0, 8)} reached every cluster in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
      say(await deploymentsTable(api));

      say(
        '▶ Committing a broken change to apps/web (its Deployment fails); watch it stop at the canary:',
      );
      const broken = await commitFiles(
        repoDir,
        { 'apps/web/deployment.yaml': workload('web', '2', 'fail') },
        'web: a change that fails',
      );
      await api.post('/gitrepos/demo/sync');
      const failed = await narrateRollout(api, 'demo/web', broken, say);
      say(`  rollout ${failed.state}${failed.reason ? ` (${failed.reason})` : ''}`);
      say(
        `  no cluster beyond the canary ever received ${broken.slice(0, 8)}; the canary is back on ${head.slice(0, 8)}\n`,
      );
      await waitForCanaryBack(api, head);
      say(await deploymentsTable(api));

      if (opts.exit) {
        say('▶ Done; stopping.');
        await shutdown();
        return;
      }
      say(`The hub keeps running. Try, in another terminal:
  export FLOTILLA_SERVER=${hub.httpUrl} FLOTILLA_TOKEN=${apiToken}
  npx flotilla status
  npx flotilla repo get demo
  npx flotilla cluster list -l 'region in (eu)'
  (or keep them: flotilla login --server ${hub.httpUrl} --token ${apiToken} --name demo)
  edit and commit in ${repoDir} (git commit -am ...): the hub polls every 5 s
  open ${hub.httpUrl}/ (the dashboard; sign in with a token printed above)
  open ${hub.httpUrl}/api/docs
Ctrl-C stops the demo.`);
      stopOnSignal(shutdown);
    });
}

/** Where the demo's hub is and the admin API token of this run, printed at every start. */
export function accessLines(url: string, token: string): string {
  return [
    '',
    `  API      ${url}/api/v1   (docs ${url}/api/docs)`,
    `  Token    ${token}`,
    `           admin API token of this demo run (replaced at the next run), e.g.`,
    `           FLOTILLA_SERVER=${url} FLOTILLA_TOKEN=${token} npx flotilla status`,
  ].join('\n');
}

interface DeploymentRow {
  bundle: string;
  state: string;
  message: string;
  commit: string | null;
  desiredRevision: string | null;
}

/** Waits until the demo GitRepo is synced at `commit` with `count` deployments Ready. */
async function waitFor(api: ApiClient, commit: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const repo = await api.get<{
      status: {
        commit: string | null;
        error: string | null;
        bundleErrors: { bundle: string; message: string }[];
      };
    }>('/gitrepos/demo');
    if (repo.status.error) throw new Error(`syncing the demo repo failed: ${repo.status.error}`);
    const broken = repo.status.bundleErrors[0];
    if (repo.status.commit === commit && broken)
      throw new Error(`${broken.bundle}: ${broken.message}`);
    const clusters = await api.list<{ name: string }>('/clusters');
    let ready = 0;
    for (const c of clusters) {
      const detail = await api.get<{ deployments: DeploymentRow[] }>(`/clusters/${c.name}`);
      ready += detail.deployments.filter((d) => d.state === 'Ready' && d.commit === commit).length;
    }
    if (repo.status.commit === commit && ready >= count) return;
    if (Date.now() > deadline)
      throw new Error(`the fleet did not converge on ${commit.slice(0, 8)} within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every deployment of the demo clusters as a table. */
async function deploymentsTable(api: ApiClient): Promise<string> {
  const rows: string[][] = [];
  for (const c of demoClusters) {
    const detail = await api.get<{ deployments: DeploymentRow[] }>(`/clusters/${c.name}`);
    for (const d of detail.deployments) {
      rows.push([
        c.name,
        d.bundle,
        d.state,
        d.commit?.slice(0, 8) ?? '',
        d.desiredRevision?.slice(0, 12) ?? '',
        d.state === 'Ready' ? '' : (d.message.split('\n')[0] ?? ''),
      ]);
    }
  }
  return formatTable({
    columns: ['CLUSTER', 'BUNDLE', 'STATE', 'COMMIT', 'REVISION', 'MESSAGE'],
    rows,
  });
}

interface RolloutSummary {
  id: string;
  toCommit: string;
  state: string;
  reason: string | null;
  stages: { name: string; state: string; clusters: { name: string; state: string }[] }[];
}

const TERMINAL = ['Succeeded', 'Failed', 'Aborted', 'RolledBack', 'Superseded'];

/** Prints each cluster's rollout transitions until the rollout of `commit` finishes. */
async function narrateRollout(
  api: ApiClient,
  bundle: string,
  commit: string,
  say: (line: string) => void,
): Promise<RolloutSummary> {
  const seen = new Map<string, string>();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { items } = await api.get<{ items: RolloutSummary[] }>('/rollouts', { bundle, limit: 1 });
    const r = items[0];
    if (r && r.toCommit === commit) {
      for (const stage of r.stages) {
        for (const c of stage.clusters) {
          const key = `${stage.name}/${c.name}`;
          if (seen.get(key) !== c.state) {
            if (seen.has(key) || c.state !== 'Waiting') {
              say(`    ${stage.name.padEnd(7)} ${c.name.padEnd(5)} ${c.state}`);
            }
            seen.set(key, c.state);
          }
        }
      }
      if (TERMINAL.includes(r.state)) return r;
    }
    if (Date.now() > deadline)
      throw new Error(`the rollout of ${commit.slice(0, 8)} did not finish within 60 s`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Waits until the canary runs `commit` again after a rollback. */
async function waitForCanaryBack(api: ApiClient, commit: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const detail = await api.get<{ deployments: DeploymentRow[] }>('/clusters/eu-1');
    const web = detail.deployments.find((d) => d.bundle === 'demo/web');
    if (web && web.commit === commit) return;
    if (Date.now() > deadline) throw new Error('the canary did not return to the previous commit');
    await new Promise((res) => setTimeout(res, 200));
  }
}
