// `npm run bench:agent-memory -- [--bundles B] [--idle SECONDS] [--json FILE]`: the idle memory of
// one agent, run as users run it (`flotilla agent` in its own process). Starts the hub
// in-process (scratch database and NATS subject prefix, as `npm run bench`), commits B
// plain-YAML bundles, and runs the agent with `--simulate` and with `--kubeconfig` against the
// wire-level fake Kubernetes API server of the tests, each with Node's default flags and with
// the Helm chart's `nodeOptions`. Once every bundle is applied it lets the agent idle, then
// reads its RSS from the operating system (no forced GC: what a pod's memory usage shows).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { positiveInt, runBenchCommand } from './cli.js';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { formatTable } from '../cli/output.js';
import { loadHubConfig } from '../libs/config/config.js';
import { FakeKubeApi } from '../libs/testing/fake-kube-api.js';
import { runHub } from '../services/hub/hub.js';
import { clusterName, registerClusters } from './fleet.js';
import {
  BenchRepo,
  benchNatsUrl,
  benchSubjectPrefix,
  createBenchDatabase,
  deleteStatusStream,
} from './infra.js';

/** The repository's root (this file runs as dist-bench/bench/agent-memory.js). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'flotilla.js');
const CHART_VALUES = join(ROOT, 'deploy', 'charts', 'flotilla-agent', 'values.yaml');

/** The requirement (issue 4): an idle agent with a few bundles stays under this. */
const TARGET_MIB = 64;

type Driver = 'simulate' | 'kubeconfig';

/** One measured agent. */
export interface AgentMemoryResult {
  driver: Driver;
  /** The Node.js flags the agent ran with (`NODE_OPTIONS`); empty: Node's defaults. */
  nodeOptions: string;
  /** RSS after the bundles were applied and the agent idled (MiB). */
  idleRssMiB: number;
  /** Highest RSS over the agent's life (VmHWM, MiB). */
  peakRssMiB: number;
  /** States of the agent's deployments as the hub recorded them. */
  states: Record<string, number>;
}

interface Options {
  nodeOptions?: string;
  bundles: number;
  idle: number;
  timeout: number;
  json?: string;
}

function log(line: string): void {
  process.stderr.write(`[agent-memory ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

/** `nodeOptions` of the agent's Helm chart: what the agent runs with in a cluster. */
async function chartNodeOptions(): Promise<string> {
  const values = parseYaml(await readFile(CHART_VALUES, 'utf8')) as { nodeOptions?: unknown };
  return typeof values.nodeOptions === 'string' ? values.nodeOptions : '';
}

/** A field of /proc/PID/status in MiB (Linux), e.g. `VmRSS`. */
async function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** An agent process of the CLI; its output is kept, to show when it fails. */
class AgentProcess {
  private readonly chunks: Buffer[] = [];
  readonly child: ChildProcess;

  constructor(args: readonly string[], nodeOptions: string) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    if (nodeOptions !== '') env.NODE_OPTIONS = nodeOptions;
    this.child = spawn(process.execPath, [CLI, 'agent', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (c: Buffer) => this.chunks.push(c));
    this.child.stderr?.on('data', (c: Buffer) => this.chunks.push(c));
  }

  output(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function measure(opts: Options): Promise<AgentMemoryResult[]> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const natsUrl = benchNatsUrl();
    const prefix = benchSubjectPrefix();
    const adminToken = `flt_bench-${randomBytes(24).toString('hex')}`;
    const db = await createBenchDatabase();
    cleanups.push(() => db.drop());
    const poller = new pg.Client({ connectionString: db.url });
    await poller.connect();
    cleanups.push(() => poller.end());
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-agent-memory-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    cleanups.push(() => deleteStatusStream(natsUrl, prefix));
    const hub = await runHub({
      config: loadHubConfig({
        DATABASE_URL: db.url,
        NATS_URL: natsUrl,
        PORT: '0',
        GRPC_PORT: '0',
        HOST: '127.0.0.1',
        FLOTILLA_DATA_DIR: join(dir, 'hub'),
        FLOTILLA_SUBJECT_PREFIX: prefix,
        FLOTILLA_ADMIN_TOKEN: adminToken,
        // The benchmark's Git repository is in a temporary directory.
        FLOTILLA_FILE_URL_ROOT: tmpdir(),
      }),
      logLevels: ['fatal', 'error'],
    });
    cleanups.push(() => hub.close());
    log(`hub at ${hub.httpUrl}, database ${db.name}, NATS ${natsUrl} prefix ${prefix}`);

    const chartOptions = opts.nodeOptions ?? (await chartNodeOptions());
    const variants: { driver: Driver; nodeOptions: string }[] = [];
    for (const driver of ['simulate', 'kubeconfig'] as const) {
      variants.push({ driver, nodeOptions: '' });
      if (chartOptions !== '') variants.push({ driver, nodeOptions: chartOptions });
    }
    const tokens = await registerClusters(hub.httpUrl, adminToken, variants.length, 4);

    const repo = await BenchRepo.create(opts.bundles);
    cleanups.push(() => repo.remove());
    const commit = await repo.commit('v1');
    const res = await fetch(`${hub.httpUrl}/api/v1/gitrepos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({
        name: 'bench',
        url: repo.url,
        branch: 'main',
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'bench=true' }],
      }),
    });
    if (!res.ok) throw new Error(`POST /gitrepos: HTTP ${res.status} ${await res.text()}`);

    const results: AgentMemoryResult[] = [];
    for (const [i, variant] of variants.entries()) {
      const cluster = clusterName(i);
      const agentDir = join(dir, cluster);
      await mkdir(agentDir, { recursive: true });
      const args = [
        '--hub',
        hub.httpUrl,
        '--token',
        tokens[i]!,
        '--state-dir',
        join(agentDir, 'state'),
      ];
      let api: FakeKubeApi | undefined;
      if (variant.driver === 'kubeconfig') {
        api = await FakeKubeApi.start();
        await createDefaultNamespace(api);
        args.push('--kubeconfig', await api.writeKubeconfig(agentDir));
      } else {
        args.push('--simulate');
      }
      const label = `${variant.driver}${variant.nodeOptions !== '' ? ` (${variant.nodeOptions})` : ''}`;
      const agent = new AgentProcess(args, variant.nodeOptions);
      try {
        const states = await settled(poller, cluster, commit, opts, agent, api);
        log(`${label}: ${opts.bundles} bundles applied; idling ${opts.idle} s`);
        await sleep(opts.idle * 1000);
        if (agent.exited) throw new Error(`the agent exited:\n${agent.output()}`);
        const pid = agent.child.pid!;
        const result: AgentMemoryResult = {
          driver: variant.driver,
          nodeOptions: variant.nodeOptions,
          idleRssMiB: round(await procStatusMiB(pid, 'VmRSS')),
          peakRssMiB: round(await procStatusMiB(pid, 'VmHWM')),
          states,
        };
        log(`${label}: idle RSS ${result.idleRssMiB} MiB (peak ${result.peakRssMiB} MiB)`);
        results.push(result);
      } finally {
        await agent.stop();
        await api?.close();
      }
    }
    return results;
  } finally {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
  }
}

/**
 * Waits until the agent of `cluster` applied every bundle at `commit` and reported its health
 * (not `WaitApplied`); returns the deployments' states. With a fake API server, plays the
 * Deployment controller: the Deployments become available, as in a real cluster.
 */
async function settled(
  client: pg.Client,
  cluster: string,
  commit: string,
  opts: Options,
  agent: AgentProcess,
  api: FakeKubeApi | undefined,
): Promise<Record<string, number>> {
  const deadline = Date.now() + opts.timeout * 1000;
  for (;;) {
    if (api !== undefined) makeDeploymentsAvailable(api);
    const { rows } = await client.query<{ state: string; n: string }>(
      `SELECT state, count(*) AS n FROM deployments
        WHERE cluster = $1 AND desired_commit = $2 AND applied_revision = desired_revision
          AND state NOT IN ('WaitApplied', 'Pending')
        GROUP BY state`,
      [cluster, commit],
    );
    const states = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    const count = rows.reduce((sum, r) => sum + Number(r.n), 0);
    if (count >= opts.bundles && (api === undefined || states.Ready === count)) return states;
    if (agent.exited) throw new Error(`the agent of ${cluster} exited:\n${agent.output()}`);
    if (Date.now() > deadline) {
      const { rows: messages } = await client.query<{ bundle: string; message: string }>(
        'SELECT bundle, message FROM deployments WHERE cluster = $1 ORDER BY bundle',
        [cluster],
      );
      throw new Error(
        `timed out: ${count} of ${opts.bundles} bundles settled on ${cluster} (${JSON.stringify(states)}):\n${messages.map((m) => `${m.bundle}: ${m.message}`).join('\n')}\n${agent.output()}`,
      );
    }
    await sleep(100);
  }
}

/** The namespace `default`, which every real cluster has (the fake starts empty). */
async function createDefaultNamespace(api: FakeKubeApi): Promise<void> {
  const res = await fetch(`${api.url}/api/v1/namespaces/default?fieldManager=kube-apiserver`, {
    method: 'PATCH',
    headers: {
      'content-type': 'application/apply-patch+yaml',
      authorization: 'Bearer fake-token',
    },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }),
  });
  if (!res.ok)
    throw new Error(`creating namespace default: HTTP ${res.status} ${await res.text()}`);
}

/** Marks every Deployment of the fake API server rolled out and available. */
function makeDeploymentsAvailable(api: FakeKubeApi): void {
  for (const deployment of api.list('apps/v1', 'Deployment')) {
    const metadata = deployment.metadata as {
      name: string;
      namespace?: string;
      generation?: number;
    };
    const status = deployment.status as { observedGeneration?: number } | undefined;
    if (status?.observedGeneration === metadata.generation) continue;
    api.setStatus(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: metadata.name,
        namespace: metadata.namespace,
      },
      {
        observedGeneration: metadata.generation,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      },
    );
  }
}

function table(results: readonly AgentMemoryResult[]): string {
  return formatTable({
    columns: ['agent', 'NODE_OPTIONS', 'idle RSS MiB', 'peak RSS MiB', 'deployments'],
    rows: results.map((r) => [
      `--${r.driver}`,
      r.nodeOptions === '' ? '(Node defaults)' : r.nodeOptions,
      `${r.idleRssMiB}${r.idleRssMiB < TARGET_MIB ? '' : ` (≥ ${TARGET_MIB})`}`,
      r.peakRssMiB,
      Object.entries(r.states)
        .map(([state, n]) => `${n} ${state}`)
        .join(', '),
    ]),
  });
}

const program = new Command('bench-agent-memory')
  .description('Idle RSS of one agent process (see README "Benchmark")')
  .option('--bundles <n>', 'plain-YAML bundles deployed to the agent', positiveInt, 5)
  .option('--idle <seconds>', 'how long the agent idles before its RSS is read', positiveInt, 15)
  .option('--timeout <seconds>', 'give up waiting for the bundles after this long', positiveInt, 60)
  .option(
    '--node-options <flags>',
    "Node.js flags to compare with Node's defaults (default: the agent Helm chart's nodeOptions)",
  )
  .option('--json <file>', 'write the figures to this JSON file')
  .action(async (opts: Options) => {
    if (process.platform !== 'linux') throw new Error('reads RSS from /proc: runs on Linux only');
    const results = await measure(opts);
    process.stdout.write(table(results));
    process.stdout.write(
      `${opts.bundles} bundles, ${opts.idle} s idle; ${cpus().length} CPUs, Node ${process.version}\n`,
    );
    if (opts.json !== undefined) {
      await writeFile(opts.json, `${JSON.stringify(results, null, 2)}\n`);
      log(`wrote ${opts.json}`);
    }
  });

runBenchCommand(program);
