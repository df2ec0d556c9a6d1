import { Command, Option } from 'commander';
import type { ClusterDriver } from '../../agents/agent/cluster-driver.js';
import { parseDuration } from '../../libs/config/duration.js';
import { parseLabelArgs } from '../labels.js';
import { stopOnSignal } from '../lifecycle.js';

interface AgentCliOptions {
  hub: string;
  token: string;
  kubeconfig?: string;
  simulate?: boolean;
  name?: string;
  label: string[];
  stateDir: string;
  heartbeatInterval?: string;
  exitOnRevoke?: boolean;
}

/** Exit status of `flotilla agent --exit-on-revoke` once the hub no longer accepts the agent. */
export const EXIT_REVOKED = 3;

/** The cluster driver the flags ask for (loaded on demand: the Kubernetes client is large). */
export async function driverFor(opts: {
  kubeconfig?: string;
  simulate?: boolean;
}): Promise<ClusterDriver> {
  if (opts.simulate && opts.kubeconfig) {
    throw new Error('give either --kubeconfig or --simulate, not both');
  }
  if (opts.simulate) {
    const { SimulatedCluster } = await import('../../agents/agent/simulated-cluster.js');
    return new SimulatedCluster();
  }
  const { KubernetesCluster, runsInPod } = await import('../../agents/agent/kubernetes-cluster.js');
  if (opts.kubeconfig) return new KubernetesCluster({ kubeconfigPath: opts.kubeconfig });
  if (runsInPod()) return new KubernetesCluster();
  throw new Error(
    'give --kubeconfig PATH, --simulate, or run the agent in a pod (in-cluster config)',
  );
}

/** `flotilla agent`: run a cluster agent. */
export function agentCommand(): Command {
  return new Command('agent')
    .description(
      'run the agent of one cluster: connects to the hub, heartbeats, applies desired state',
    )
    .requiredOption('--hub <url>', 'hub URL, e.g. http://hub:8080', process.env.FLOTILLA_HUB)
    .requiredOption(
      '--token <token>',
      'agent token (fla_…) or registration token (flr_…)',
      process.env.FLOTILLA_AGENT_TOKEN,
    )
    .option('--kubeconfig <path>', 'manage the cluster of this kubeconfig')
    .option('--simulate', 'manage an in-memory simulated cluster')
    .option(
      '--name <name>',
      'cluster name to register with a registration token (default: host name)',
    )
    .addOption(
      new Option('--label <k=v>', 'label to register with (repeatable)')
        .default([])
        .argParser(collect),
    )
    .option(
      '--state-dir <dir>',
      'where the agent keeps its token across restarts',
      '.flotilla-agent',
    )
    .option('--heartbeat-interval <duration>', "heartbeat interval (default: the hub's)")
    .option(
      '--exit-on-revoke',
      `exit with status ${EXIT_REVOKED} once the hub no longer accepts the agent (cluster deleted, token revoked) instead of asking again every 10 minutes`,
    )
    .action(async (opts: AgentCliOptions) => {
      const driver = await driverFor(opts);
      const { startAgent } = await import('../../agents/agent/agent.js');
      const { pino } = await import('pino');
      const logger = pino({ name: 'flotilla-agent' });
      const controller = new AbortController();
      stopOnSignal(
        async () => {
          controller.abort();
          await agentPromise.then(
            (a) => a.stop(),
            () => driver.close(),
          );
        },
        (line) => logger.info(line),
      );
      const agentPromise = startAgent({
        hubUrl: opts.hub,
        token: opts.token,
        driver,
        name: opts.name,
        labels: parseLabelArgs(opts.label, { allowRemove: false }).set,
        stateDir: opts.stateDir,
        heartbeatIntervalMs: opts.heartbeatInterval
          ? parseDuration(opts.heartbeatInterval)
          : undefined,
        logger,
        signal: controller.signal,
        onRevoked: opts.exitOnRevoke
          ? () => {
              logger.error({ exitCode: EXIT_REVOKED }, 'stopping: --exit-on-revoke');
              void agentPromise.then((a) => a.stop()).finally(() => process.exit(EXIT_REVOKED));
            }
          : undefined,
      });
      const agent = await agentPromise.catch(async (err: unknown) => {
        await driver.close();
        throw err;
      });
      logger.info({ cluster: agent.cluster, driver: driver.kind }, 'agent running');
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
