import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { findFreePort } from '../runtime/free-port.js';
import { findNatsServerBinary } from '../runtime/nats-server.js';
import { eventually } from './eventually.js';

/** One nats-server of a {@link NatsCluster}. */
export interface NatsClusterNode {
  /** `server_name`, as JetStream names stream leaders and peers. */
  name: string;
  url: string;
  /** The running process; undefined after {@link NatsCluster.kill}. */
  process: ChildProcess | undefined;
  output(): string;
}

/** A NATS cluster with JetStream on loopback, without authentication. */
export interface NatsCluster {
  nodes: NatsClusterNode[];
  /** Every node's client URL, comma-separated (as NATS_URL takes them). */
  url: string;
  /** kill -9 of one node (by `server_name`); its store stays, as after a crash. */
  kill(name: string): Promise<void>;
  /** Kills every node and removes the stores. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers clustered over routes on loopback, each with JetStream in its own
 * store under a temporary directory, on free ports, and waits until JetStream has a meta leader
 * (streams with up to `size` replicas can be created). Every process leads its own process group
 * and is SIGKILLed by `stop`, and when this process exits.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const binary = findNatsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-nats-cluster-'));
  const ports = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await findFreePort(), route: await findFreePort() });
  const nodes: NatsClusterNode[] = [];
  const exits = new Map<string, Promise<void>>();
  const killAll = (): void => {
    for (const node of nodes) killGroup(node.process);
  };
  process.once('exit', killAll);
  try {
    for (const [i, port] of ports.entries()) {
      const name = `n${i + 1}`;
      const store = join(dir, name);
      mkdirSync(store);
      const routes = ports
        .filter((_, j) => j !== i)
        .map((p) => `nats-route://127.0.0.1:${p.route}`);
      const config = join(dir, `${name}.conf`);
      writeFileSync(
        config,
        [
          `server_name: ${name}`,
          `listen: 127.0.0.1:${port.client}`,
          `jetstream { store_dir: ${JSON.stringify(store)} }`,
          `cluster {`,
          `  name: flotilla-test`,
          `  listen: 127.0.0.1:${port.route}`,
          `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
          `}`,
        ].join('\n'),
      );
      const child = spawn(binary, ['-c', config], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      exits.set(name, new Promise((resolve) => child.once('exit', () => resolve())));
      nodes.push({
        name,
        url: `nats://127.0.0.1:${port.client}`,
        process: child,
        output: () => output,
      });
    }
    const url = nodes.map((n) => n.url).join(',');
    await eventually(
      'the NATS cluster ready for replicated streams (a JetStream meta leader, every peer current)',
      () => metaCluster(url),
      (meta) => meta !== undefined && meta.leader !== undefined && meta.peers === size,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return {
      nodes,
      url,
      kill: async (name) => {
        const node = nodes.find((n) => n.name === name);
        if (node === undefined) throw new Error(`no node ${name}`);
        killGroup(node.process);
        node.process = undefined;
        await exits.get(name);
      },
      stop: async () => {
        killAll();
        await Promise.all(exits.values());
        process.removeListener('exit', killAll);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    killAll();
    const logs = nodes.map((n) => `--- ${n.name}\n${n.output()}`).join('\n');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${String(err)}\n${logs}`);
  }
}

/** The JetStream meta group as seen from the cluster: leader and peers that are current. */
async function metaCluster(url: string): Promise<{ leader?: string; peers: number } | undefined> {
  const nc = await connect({ servers: url.split(','), timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2000 });
    // Creating and deleting an R-N stream is the one proof that JetStream can place replicas.
    const probe = `PROBE_${Math.random().toString(36).slice(2)}`;
    const info = await jsm.streams.add({
      name: probe,
      subjects: [`probe.${probe}`],
      num_replicas: url.split(',').length,
    });
    await jsm.streams.delete(probe);
    const replicas = info.cluster?.replicas ?? [];
    return {
      ...(info.cluster?.leader === undefined ? {} : { leader: info.cluster.leader }),
      peers: 1 + replicas.length,
    };
  } finally {
    await nc.close();
  }
}

function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
