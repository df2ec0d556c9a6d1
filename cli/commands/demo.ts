import { Command } from 'commander';
import { join } from 'node:path';
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
      const env = {
        ...process.env,
        FLOTILLA_DATA_DIR: process.env.FLOTILLA_DATA_DIR ?? join('.flotilla', 'demo'),
      };
      const config = loadHubConfig(env);

      const { runHub } = await import('../../services/hub/hub.js');
      const { startSimulatedFleet } = await import('../sim-fleet.js');
      say(`▶ Starting the hub (data in ${config.dataDir})…`);
      const hub = await runHub({ config, logLevels: ['fatal', 'error', 'warn'] });
      say(describeHub(hub));
      const api = new ApiClient(hub.httpUrl);

      say(
        '\n▶ Starting three simulated clusters; each agent registers itself with a registration token…',
      );
      const fleet = await startSimulatedFleet(
        hub.httpUrl,
        join(config.dataDir, 'agents'),
        demoClusters,
        {
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

      if (opts.exit) {
        say('\n▶ Done; stopping.');
        await shutdown();
        return;
      }
      say(`\nThe hub keeps running. Try, in another terminal:
  npx flotilla cluster list --server ${hub.httpUrl} -l 'region in (eu)'
  npx flotilla group get prod --server ${hub.httpUrl}
  open ${hub.httpUrl}/api/docs
Ctrl-C stops the demo.`);
      stopOnSignal(shutdown);
    });
}
