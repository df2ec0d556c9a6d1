// The simulated fleet: clusters registered over REST, one agent per cluster in this process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type RunningAgent, startAgent } from '../agents/agent/agent.js';
import type { ApplyResult } from '../agents/agent/cluster-driver.js';
import { SimulatedCluster } from '../agents/agent/simulated-cluster.js';
import type { DeploymentOptions } from '../libs/contracts/index.js';
import type { KubeObject } from '../libs/manifests/index.js';

/** Counts the Upserts agents applied while `recording` (first and last time, in ms). */
export class ApplyLog {
  recording = false;
  count = 0;
  first = Number.POSITIVE_INFINITY;
  last = 0;

  start(): void {
    this.recording = true;
    this.count = 0;
    this.first = Number.POSITIVE_INFINITY;
    this.last = 0;
  }

  record(): void {
    if (!this.recording) return;
    const now = performance.timeOrigin + performance.now();
    this.count++;
    if (now < this.first) this.first = now;
    this.last = now;
  }
}

/**
 * A simulated cluster that notes every apply: the agent applies once per Upsert it received
 * (after fetching the revision's content when it does not hold it yet).
 */
class CountingCluster extends SimulatedCluster {
  constructor(private readonly log: ApplyLog) {
    super();
  }

  override apply(
    bundle: string,
    revision: string,
    objects: readonly KubeObject[],
    options: DeploymentOptions,
  ): Promise<ApplyResult> {
    this.log.record();
    return super.apply(bundle, revision, objects, options);
  }
}

/** Runs `fn` over `items` with at most `limit` calls at a time. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function clusterName(i: number): string {
  return `sim-${String(i).padStart(5, '0')}`;
}

/** Registers clusters `sim-00000…` with `POST /api/v1/clusters`; returns their agent tokens. */
export async function registerClusters(
  hubUrl: string,
  adminToken: string,
  count: number,
  concurrency: number,
): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => clusterName(i));
  return inBatches(names, concurrency, async (name, i) => {
    const res = await fetch(`${hubUrl}/api/v1/clusters`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ name, labels: { bench: 'true', shard: String(i % 10) } }),
    });
    if (res.status !== 201) {
      throw new Error(`registering ${name}: HTTP ${res.status} ${await res.text()}`);
    }
    const body = (await res.json()) as { token: string };
    return body.token;
  });
}

/** The agents of the fleet, each with its own NATS connection and simulated cluster. */
export interface Fleet {
  /** By the index of their token. */
  agents: RunningAgent[];
  /** Stops the agent of token `i` (its cluster goes Offline when its lease lapses). */
  stopAgent(i: number): Promise<void>;
  /** Starts the agent of token `i` again (after `stopAgent`), as an agent restarts. */
  restartAgent(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(
  hubUrl: string,
  tokens: readonly string[],
  concurrency: number,
  applies: ApplyLog,
): Promise<Fleet> {
  // Agents keep their token in a state directory only when they register themselves; these
  // were registered over REST, so the directory stays empty (it must exist for nothing else).
  const stateRoot = await mkdtemp(join(tmpdir(), 'flotilla-bench-agents-'));
  const logger = pino({ level: 'silent' });
  const agents: RunningAgent[] = [];
  const start = (i: number) =>
    startAgent({
      hubUrl,
      token: tokens[i]!,
      driver: new CountingCluster(applies),
      stateDir: join(stateRoot, String(i)),
      logger,
    });
  try {
    await inBatches(tokens, concurrency, async (_token, i) => {
      agents[i] = await start(i);
    });
  } catch (err) {
    await Promise.allSettled(agents.filter((a) => a !== undefined).map((a) => a.stop()));
    await rm(stateRoot, { recursive: true, force: true });
    throw err;
  }
  return {
    agents,
    stopAgent: (i) => agents[i]!.stop(),
    restartAgent: async (i) => {
      agents[i] = await start(i);
    },
    stop: async () => {
      await inBatches(agents, 100, (a) => a.stop());
      await rm(stateRoot, { recursive: true, force: true });
    },
  };
}
