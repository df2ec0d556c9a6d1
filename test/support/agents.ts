import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import type { TestHub } from './hub.js';

/**
 * Registers `name` with `labels` at the hub and starts an in-process agent for it on a simulated
 * cluster (its own state directory, a 300 ms heartbeat, no log). The caller stops it.
 */
export async function startSimulatedAgent(
  hub: TestHub,
  name: string,
  labels: Record<string, string>,
): Promise<RunningAgent> {
  const res = await hub.api().post('/api/v1/clusters').send({ name, labels }).expect(201);
  return startAgent({
    hubUrl: hub.httpUrl,
    token: (res.body as { token: string }).token,
    driver: new SimulatedCluster(),
    stateDir: mkdtempSync(join(tmpdir(), `flotilla-${name}-`)),
    heartbeatIntervalMs: 300,
    logger: pino({ level: 'silent' }),
  });
}
