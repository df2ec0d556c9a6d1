import { Command } from 'commander';
import { join } from 'node:path';
import { loadHubConfig } from '../../libs/config/config.js';
import { stopOnSignal } from '../lifecycle.js';
import { describeHub } from './hub.js';

/** `flotilla dev`: everything on one machine — hub, embedded infrastructure, simulated clusters. */
export function devCommand(): Command {
  return new Command('dev')
    .description(
      'run the hub with embedded PostgreSQL and nats-server (unless DATABASE_URL / NATS_URL are set) plus simulated clusters',
    )
    .option('--agents <n>', 'how many simulated clusters to run', '2')
    .action(async (opts: { agents: string }) => {
      const count = Number(opts.agents);
      if (!Number.isInteger(count) || count < 0 || count > 1000) {
        throw new Error('--agents must be a whole number from 0 to 1000');
      }
      // One machine: file:// GitRepos may read repositories under <data dir>/repos, unless
      // FLOTILLA_FILE_URL_ROOT names another directory (or is empty: none).
      const config = loadHubConfig({
        ...process.env,
        FLOTILLA_FILE_URL_ROOT:
          process.env.FLOTILLA_FILE_URL_ROOT ??
          join(process.env.FLOTILLA_DATA_DIR || '.flotilla', 'repos'),
      });
      const { runHub } = await import('../../services/hub/hub.js');
      const { startSimulatedFleet } = await import('../sim-fleet.js');
      const hub = await runHub({ config });
      console.error(describeHub(hub));
      const apiToken = await hub
        .issueApiToken('flotilla-dev', 'admin')
        .catch(async (err: unknown) => {
          await hub.close();
          throw err;
        });
      console.error(
        `  admin API token of this session (replaced at the next \`flotilla dev\`):\n    ${apiToken}\n` +
          `  e.g. FLOTILLA_TOKEN=${apiToken} flotilla status`,
      );
      const fleet = await startSimulatedFleet(
        hub.httpUrl,
        join(config.dataDir, 'agents'),
        Array.from({ length: count }, (_, i) => ({
          name: `sim-${i + 1}`,
          labels: { env: 'dev', sim: 'true' },
        })),
        { apiToken },
      ).catch(async (err: unknown) => {
        await hub.close();
        throw err;
      });
      console.error(`  ${count} simulated cluster(s) running: sim-1 … sim-${count}`);
      stopOnSignal(async () => {
        await fleet.stop();
        await hub.close();
      });
    });
}
