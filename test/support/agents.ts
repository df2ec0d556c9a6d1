import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { runCli } from './cli.js';
import type { TestHub } from './hub.js';

/**
 * Registers `name` with `labels` at the hub and starts an in-process agent for it on a simulated
 * cluster (`driver`, a new one unless given; its own state directory, a 300 ms heartbeat, no
 * log). The caller stops it.
 */
export async function startSimulatedAgent(
  hub: TestHub,
  name: string,
  labels: Record<string, string>,
  driver: SimulatedCluster = new SimulatedCluster(),
): Promise<RunningAgent> {
  const res = await hub.api().post('/api/v1/clusters').send({ name, labels }).expect(201);
  return startAgent({
    hubUrl: hub.httpUrl,
    token: (res.body as { token: string }).token,
    driver,
    stateDir: mkdtempSync(join(tmpdir(), `flotilla-${name}-`)),
    heartbeatIntervalMs: 300,
    logger: pino({ level: 'silent' }),
  });
}

/**
 * Registers `name` with `label` (`key=value`) through the CLI (`flotilla cluster register`, as an
 * admin) and starts an in-process agent for it on a simulated cluster (its own state directory,
 * the default heartbeat, no log). The caller stops it.
 */
export async function startCliRegisteredAgent(
  hub: TestHub,
  name: string,
  label: string,
): Promise<RunningAgent> {
  const registered = await runCli(
    ['cluster', 'register', name, '--label', label, '-o', 'json', '--server', hub.httpUrl],
    { FLOTILLA_TOKEN: hub.adminToken },
  );
  return startAgent({
    hubUrl: hub.httpUrl,
    token: (JSON.parse(registered.stdout) as { token: string }).token,
    driver: new SimulatedCluster(),
    stateDir: mkdtempSync(join(tmpdir(), `flotilla-${name}-`)),
    logger: pino({ level: 'silent' }),
  });
}
