import { join } from 'node:path';
import { pino } from 'pino';
import { type RunningAgent, startAgent } from '../agents/agent/agent.js';
import { SimulatedCluster } from '../agents/agent/simulated-cluster.js';
import { ApiClient } from './api-client.js';

/** One simulated cluster to run: its name and labels. */
export interface SimulatedClusterSpec {
  name: string;
  labels: Record<string, string>;
}

/** Simulated agents running in this process. */
export interface SimulatedFleet {
  agents: RunningAgent[];
  stop(): Promise<void>;
}

/**
 * Starts one in-process agent with a simulated cluster per spec (`options.apiToken`: an admin API
 * token to make their registration token with). Each registers itself with a
 * fresh registration token the first time and keeps its agent token in
 * `<stateRoot>/<name>`, so running again reuses the clusters.
 */
export async function startSimulatedFleet(
  hubUrl: string,
  stateRoot: string,
  specs: readonly SimulatedClusterSpec[],
  options: { heartbeatIntervalMs?: number; logLevel?: string; apiToken?: string } = {},
): Promise<SimulatedFleet> {
  // The registration token is made with an admin API token; the agents then use only it.
  const api = new ApiClient(hubUrl, options.apiToken);
  const { token } = await api.post<{ token: string }>('/registration-tokens', {
    ttl: '1h',
    maxUses: specs.length,
    description: 'simulated fleet',
  });
  const logger = pino({ name: 'flotilla-agent', level: options.logLevel ?? 'warn' });
  const agents: RunningAgent[] = [];
  const stop = async () => {
    await Promise.all(agents.map((a) => a.stop()));
  };
  try {
    for (const spec of specs) {
      agents.push(
        await startAgent({
          hubUrl,
          token,
          driver: new SimulatedCluster(),
          name: spec.name,
          labels: spec.labels,
          stateDir: join(stateRoot, spec.name),
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          logger: logger.child({ cluster: spec.name }),
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { agents, stop };
}
