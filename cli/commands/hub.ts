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
  );
  return lines.join('\n');
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
    });
}
