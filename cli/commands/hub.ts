import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadHubConfig } from '../../libs/config/config.js';
import type { RunningHub } from '../../services/hub/hub.js';
import { parseServices } from '../../services/hub/parse-services.js';
import { hubServiceNames } from '../../services/hub/service-names.js';
import { stopOnSignal } from '../lifecycle.js';

/** One paragraph telling where the hub is and what it runs on. */
export function describeHub(hub: RunningHub): string {
  const lines = [
    `Flotilla hub ready`,
    `  REST     ${hub.httpUrl}/api/v1   (docs ${hub.httpUrl}/api/docs)`,
  ];
  if (hub.grpcAddress)
    lines.push(`  gRPC     ${hub.grpcAddress}   (flotilla.v1.FleetService, reflection on)`);
  lines.push(
    `  Postgres ${hub.embedded.postgres ? `embedded, in ${hub.config.dataDir}/postgres` : 'DATABASE_URL'}`,
    `  NATS     ${hub.embedded.nats ? `local nats-server at ${hub.config.natsUrl}` : hub.config.natsUrl}`,
    `           ${hub.config.natsAuthDir === undefined ? 'no authentication: agents are not isolated from each other' : `JWT auth, per-cluster credentials (keys in ${hub.config.natsAuthDir})`}`,
  );
  lines.push(
    `  Git      ${hub.config.fileUrlRoot === undefined ? 'no file:// repositories (FLOTILLA_FILE_URL_ROOT is unset)' : `file:// repositories only under ${hub.config.fileUrlRoot}`}`,
  );
  return lines.join('\n');
}

/**
 * `flotilla hub nats-init --out DIR`: keys and server configuration for running the hub against
 * an external NATS with per-cluster credentials (README "NATS security").
 */
export function natsInitCommand(): Command {
  return new Command('nats-init')
    .description(
      'generate NATS operator and account keys and the nats-server configuration for an external NATS (then set FLOTILLA_NATS_AUTH_DIR=DIR on the hub)',
    )
    .requiredOption(
      '--out <dir>',
      'directory to write to (created; existing keys are never replaced)',
    )
    .option(
      '--resolver-dir <path>',
      "where each nats-server keeps account JWTs (relative: to the server's working directory)",
      'jwt',
    )
    .option('--if-missing', 'succeed without writing anything when DIR already holds keys')
    .action(async (opts: { out: string; resolverDir: string; ifMissing?: boolean }) => {
      const { initNatsAuthDir, NATS_AUTH_FILES } = await import('../../libs/nats-auth/index.js');
      const dir = resolve(opts.out);
      if (opts.ifMissing === true && existsSync(join(dir, NATS_AUTH_FILES.keys))) {
        process.stdout.write(`NATS keys in ${dir} exist already; kept them\n`);
        return;
      }
      await initNatsAuthDir(dir, opts.resolverDir);
      process.stdout.write(
        [
          `NATS keys written to ${dir}:`,
          `  ${NATS_AUTH_FILES.serverConfig}  include it in the configuration of every NATS server (public)`,
          `  ${NATS_AUTH_FILES.keys}     the hub's keys: mount on every hub replica, set FLOTILLA_NATS_AUTH_DIR (secret)`,
          `  ${NATS_AUTH_FILES.operatorSeed}       the operator's identity key: keep it offline (secret)`,
          '',
        ].join('\n'),
      );
    });
}

/** `flotilla hub`: the hub services, all in one process by default. */
export function hubCommand(): Command {
  return new Command('hub')
    .description(
      'run the hub (REST, gRPC, status); starts an embedded PostgreSQL and a local nats-server when DATABASE_URL / NATS_URL are not set',
    )
    .addOption(
      new Option(
        '--services <list>',
        `comma-separated services to run (${hubServiceNames.join(', ')})`,
      ).default(hubServiceNames.join(',')),
    )
    .action(async (opts: { services: string }) => {
      const services = parseServices(opts.services);
      const config = loadHubConfig();
      const { runHub } = await import('../../services/hub/hub.js');
      const hub = await runHub({ config, services });
      console.error(describeHub(hub));
      stopOnSignal(() => hub.close());
    })
    .addCommand(natsInitCommand());
}
