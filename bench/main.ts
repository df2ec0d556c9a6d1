// `npm run bench -- --clusters N --bundles B [--json FILE]`: the hub, N simulated agents (in
// `--agent-processes` child processes, or with --agents inline in the hub's process) and a Git
// repository with B bundles.
// Measures registration, convergence of a commit, the hub's CPU, status ingest and
// desired-state fan-out against raw PostgreSQL / NATS baselines, API latency under load, and
// memory; or, with `--steady DURATION`, the hub's cost when nothing changes and when 1 % of the
// clusters flap Offline/Online per minute.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { extname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { InvalidArgumentError } from 'commander';
import { positiveInt, runBenchCommand } from './cli.js';
import pg from 'pg';
import { formatTable } from '../cli/output.js';
import { loadHubConfig } from '../libs/config/config.js';
import { parseDuration } from '../libs/config/duration.js';
import {
  formatSelfTime,
  selfTimeByFunction,
  type CpuProfile,
} from '../libs/profiling/self-time.js';
import { runHub, type RunningHub } from '../services/hub/hub.js';
import { startNatsCluster } from '../libs/testing/nats-cluster.js';
import { startChildHub, type ChildHub } from './hubs.js';
import { ChildAgentPool, InlineAgents, rssMiB, type AgentHost } from './agent-host.js';
import { Probe } from './probe-host.js';
import { clusterName, registerClusters } from './fleet.js';
import { measureIngest } from './ingest.js';
import {
  BenchRepo,
  benchNatsUrl,
  benchSubjectPrefix,
  bundleDir,
  createBenchDatabase,
  deleteStatusStream,
  type BenchDatabase,
} from './infra.js';
import { rawFanoutPerSecond, rawUpsertPerSecond } from './raw.js';

/** p50 and p99 latency (ms) of one API path, over `calls` calls. */
export interface Latency {
  p50: number;
  p99: number;
  calls: number;
}

/** The figures of one run; the keys of the JSON file. */
export interface BenchResult {
  clusters: number;
  bundles: number;
  /** Hubs on the same database and NATS: the bench's process, then `flotilla hub` children. */
  hubs: number;
  /** nats-servers the run used: 1 (NATS_URL), or a loopback cluster started by the bench. */
  natsCluster: number;
  /**
   * The API calls went to a hub process of their own (`flotilla hub --services api`, counted in
   * the hubs' CPU and RSS) rather than to the first hub.
   */
  apiHub: boolean;
  registerSeconds: number;
  convergeSeconds: { p50: number; p99: number; max: number; total: number };
  /** CPU time (user + system) of the hubs' processes (summed) from the sync until convergence. */
  hubCpuSeconds: number;
  /**
   * Sync → the hub has published the commit's desired state for every (cluster, bundle) (seen
   * by a NATS subscriber in another process).
   */
  fanoutSeconds: number;
  /** The last Ready report of the measured commit sent by its agent → seen in PostgreSQL. */
  ingestSeconds: number;
  /**
   * Raw NATS publishes of as many desired-state messages plus raw batched `pg` upserts of as
   * many reports as the measured commit took, at the rates measured in this run.
   */
  convergeFloorSeconds: number;
  /** convergeSeconds.total / convergeFloorSeconds. */
  convergeVsFloor: number;
  /** Latency of API calls (one at a time, from another process) while the first commit converged. */
  apiLatencyMs: Record<string, Latency>;
  /**
   * The (first) hub's event-loop delay over the same window (p50, p99, max in ms; 10 ms
   * resolution): what any API call may wait before the hub even reads it.
   */
  hubEventLoopDelayMs: { p50: number; p99: number; max: number };
  /**
   * Hub ingest capacity: a burst of `reports` status reports published after convergence,
   * written per second (first publish → last report in PostgreSQL), against a raw batched `pg`
   * upsert of as many rows. `arrivalPerSecond`: reports per second during the measured commit
   * (how fast the simulated agents sent them, `convergeReports` in all).
   */
  ingest: {
    reportsPerSecond: number;
    rawUpsertPerSecond: number;
    ratio: number;
    reports: number;
    seconds: number;
    publishSeconds: number;
    /** CPU time of the hubs' processes (summed) during the burst. */
    hubCpuSeconds: number;
    arrivalPerSecond: number;
    convergeReports: number;
  };
  fanout: { ours: number; raw: number; ratio: number; messages: number };
  /** The largest hub process's RSS. */
  hubRssMiB: number;
  agentRssMiB: number;
  /** Where the agents ran: `inline` (the hub's process) or `child` (child processes). */
  agents: 'inline' | 'child';
  agentProcesses: number;
  renders: number;
  variants: number;
  machine: Machine;
}

interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** 1-minute load average at the start and at the end of the run. */
  loadAverage: { start: number; end: number };
}

/** `steady.cpuprofile` → `steady.idle.cpuprofile` (the phase before the extension). */
function phaseProfileFile(file: string, phase: string): string {
  const ext = extname(file);
  return `${file.slice(0, file.length - ext.length)}.${phase}${ext === '' ? '.cpuprofile' : ext}`;
}

/** One phase of a steady-state run. */
export interface SteadyPhase {
  seconds: number;
  /** CPU time of the hub's process over the phase, in % of one core. */
  hubCpuPercent: number;
  /** pg_stat_database of the hub's database: committed transactions per second. */
  pgCommitsPerSecond: number;
  /** pg_stat_database: rows inserted + updated + deleted per second. */
  pgRowsWrittenPerSecond: number;
  /** flotilla_gitrepo_syncs_total delta: GitRepos resolved again (must be 0: nothing changed). */
  gitrepoResolves: number;
  heartbeatsPerSecond: number;
  /** flotilla_cluster_state_transitions_total delta. */
  clusterTransitions: number;
  /** Clusters taken Offline (then Online again) in the phase. */
  flaps: number;
}

/** The figures of a `--steady` run. */
export interface SteadyResult {
  mode: 'steady';
  clusters: number;
  bundles: number;
  registerSeconds: number;
  idle: SteadyPhase;
  flapping: SteadyPhase;
  hubRssMiB: number;
  agents: 'inline' | 'child';
  agentProcesses: number;
  machine: Machine;
}

interface Options {
  clusters: number;
  bundles: number;
  json?: string;
  concurrency: number;
  timeout: number;
  cpuProfile?: string;
  ingestCpuProfile?: string;
  /** Steady-state run: CPU profile of each phase, `.idle`/`.flapping` put before the extension. */
  steadyCpuProfile?: string;
  agents: 'inline' | 'child';
  agentProcesses: number;
  /** Steady-state run: each phase lasts this long (ms). */
  steady?: number;
  hubs: number;
  /** Time the API on an api-only hub process (`flotilla hub --services api`). */
  apiHub: boolean;
  /** Start a loopback NATS cluster of this many nodes instead of using NATS_URL. */
  natsCluster?: number;
}

/** The API calls timed while a commit converges. */
const API_PATHS = ['/status', '/clusters?limit=100', '/gitrepos'];

const GITREPO = 'bench';
const POLL_MS = 50;

const now = (): number => performance.timeOrigin + performance.now();

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

/**
 * GET, tried again once when the connection fails: a kept-alive connection the hub's HTTP
 * server closes as the request goes out fails with "other side closed" (seen on a loaded
 * machine).
 */
async function getText(url: string): Promise<string> {
  try {
    return await (await fetch(url)).text();
  } catch {
    await sleep(100);
    return (await fetch(url)).text();
  }
}

/** Sum of a Prometheus metric's samples (all label sets) at the hub's /metrics. */
async function metric(hubUrl: string, name: string): Promise<number> {
  const text = await getText(`${hubUrl}/metrics`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (m?.[1] === name) sum += Number(m[3]);
  }
  return sum;
}

/** Starts a CPU profile of this process (the hub's); the returned function writes it to `file`. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** The admin API token the benchmark's hub is started with. */
const ADMIN_TOKEN = `flt_bench-${randomBytes(24).toString('hex')}`;

async function api(hubUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${hubUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** Polls `probe` every POLL_MS until it returns true; throws after `timeoutMs`. */
async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/** Deployments Ready at `commit` with the desired revision applied, as the hub recorded them. */
async function readyCount(client: pg.Client, commit: string): Promise<number> {
  const r = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM deployments
      WHERE desired_commit = $1 AND state = 'Ready' AND applied_revision = desired_revision`,
    [commit],
  );
  return Number(r.rows[0]?.n ?? 0);
}

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50), 1),
    p99: round(percentile(sorted, 99), 1),
    calls: sorted.length,
  };
}

function machine(loadAtStart: number): Machine {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    loadAverage: { start: round(loadAtStart, 2), end: round(loadavg()[0]!, 2) },
  };
}

export async function runBench(opts: Options): Promise<BenchResult | SteadyResult> {
  const loadAtStart = loadavg()[0]!;
  if (opts.agents === 'inline' && opts.agentProcesses > 1)
    throw new Error('--agent-processes needs --agents child');
  if (opts.agents === 'inline' && opts.steady !== undefined)
    throw new Error("--steady measures the hub's process alone: it needs --agents child");
  if (opts.hubs > 1 && opts.agents === 'inline')
    throw new Error("--hubs above 1 measures the hubs' processes: it needs --agents child");
  if (opts.hubs > 1 && opts.steady !== undefined)
    throw new Error('--steady measures one hub: it takes no --hubs');
  if (opts.apiHub && opts.steady !== undefined)
    throw new Error('--steady measures one hub: it takes no --api-hub');
  const { clusters: n, bundles: b } = opts;
  const expected = n * b;
  const timeoutMs = opts.timeout * 1000;
  let natsUrl = benchNatsUrl();
  const prefix = benchSubjectPrefix();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
  };
  try {
    if (opts.natsCluster !== undefined) {
      const cluster = await startNatsCluster(opts.natsCluster);
      // Pushed first: stopped last, after the hubs and agents have gone.
      cleanups.push(() => cluster.stop());
      natsUrl = cluster.url;
    }
    const db: BenchDatabase = await createBenchDatabase();
    cleanups.push(() => db.drop());
    // One connection for every poll of the bench, opened once.
    const poller = new pg.Client({ connectionString: db.url });
    await poller.connect();
    cleanups.push(() => poller.end());
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-bench-hub-'));
    cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
    log(`database ${db.name}, NATS ${natsUrl} prefix ${prefix}`);

    // --- hub --------------------------------------------------------------------------------
    cleanups.push(() => deleteStatusStream(natsUrl, prefix));
    const hubEnv: Record<string, string> = {
      DATABASE_URL: db.url,
      NATS_URL: natsUrl,
      HOST: '127.0.0.1',
      FLOTILLA_SUBJECT_PREFIX: prefix,
      FLOTILLA_HEARTBEAT_INTERVAL: '5s',
      FLOTILLA_ADMIN_TOKEN: ADMIN_TOKEN,
      // The benchmark's Git repository is on this machine.
      FLOTILLA_FILE_URL_ROOT: tmpdir(),
      // Replicas share the key secrets are encrypted with.
      ...(opts.hubs > 1 || opts.apiHub
        ? { FLOTILLA_SECRET_KEY: randomBytes(32).toString('hex') }
        : {}),
      ...(opts.natsCluster === undefined
        ? {}
        : { FLOTILLA_NATS_REPLICAS: String(opts.natsCluster) }),
    };
    const hub: RunningHub = await runHub({
      config: loadHubConfig({
        ...hubEnv,
        PORT: '0',
        GRPC_PORT: '0',
        FLOTILLA_DATA_DIR: dataDir,
      }),
      logLevels: ['fatal', 'error'],
    });
    cleanups.push(() => hub.close());
    const hubUrl = hub.httpUrl;
    log(`hub at ${hubUrl}`);
    // The other hubs, once the first has migrated the database; agents register through the first.
    const children: ChildHub[] = [];
    for (let i = 2; i <= opts.hubs; i++) {
      const child = await startChildHub(String(i), hubEnv, timeoutMs);
      cleanups.push(() => child.stop());
      children.push(child);
      log(`hub ${i} at ${child.url} (pid ${child.pid})`);
    }
    // The api service in a process of its own, as a deployment that splits the hub's services
    // runs it: the API calls timed while the first commit converges go there.
    let apiUrl = hubUrl;
    if (opts.apiHub) {
      const apiHub = await startChildHub('api', hubEnv, timeoutMs, ['--services', 'api']);
      cleanups.push(() => apiHub.stop());
      children.push(apiHub);
      apiUrl = apiHub.url;
      log(`api-only hub at ${apiHub.url} (pid ${apiHub.pid})`);
    }
    const hubUrls = [hubUrl, ...children.map((c) => c.url)];
    /** A Prometheus metric summed over every hub. */
    const hubMetric = async (name: string): Promise<number> => {
      let sum = 0;
      for (const url of hubUrls) sum += await metric(url, name);
      return sum;
    };
    /** CPU time (seconds) of every hub's process so far. */
    const hubCpu = (): number => {
      const own = process.cpuUsage();
      return (own.user + own.system) / 1e6 + children.reduce((s, c) => s + c.cpuSeconds(), 0);
    };

    // --- registration: REST in parallel batches, then the agents, until all Online ----------
    let registerMs = 0;
    let t = now();
    const tokens = await registerClusters(hubUrl, ADMIN_TOKEN, n, opts.concurrency);
    registerMs += now() - t;
    // Inline, hub and agents share this process: the hub alone is measured now, with every
    // cluster registered and before any agent runs. With the agents in a child process, the
    // hub's process is measured after the measured commit instead (see below).
    const hubRssRegistered = await rssMiB();
    log(`${n} clusters registered; this process's RSS ${hubRssRegistered.toFixed(0)} MiB`);
    const agentHost: AgentHost =
      opts.agents === 'child' ? new ChildAgentPool(opts.agentProcesses) : new InlineAgents();
    cleanups.push(() => agentHost.stop());
    const agentsRssBefore = opts.agents === 'child' ? await agentHost.rssMiB() : hubRssRegistered;
    t = now();
    await agentHost.start(hubUrl, tokens, opts.concurrency);
    await until(`${n} clusters Online`, timeoutMs, async () => {
      const status = (await api(hubUrl, 'GET', '/status?limit=1')) as {
        clusters: { online: number };
      };
      return status.clusters.online >= n;
    });
    registerMs += now() - t;
    log(`${n} agents Online in ${(registerMs / 1000).toFixed(2)} s`);

    // --- first commit: deploy everything once (not measured) --------------------------------
    const probe = new Probe();
    cleanups.push(() => probe.stop());
    const repo = await BenchRepo.create(b);
    cleanups.push(() => repo.remove());
    const first = await repo.commit('v1');
    await api(hubUrl, 'POST', '/gitrepos', {
      name: GITREPO,
      url: repo.url,
      branch: 'main',
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'bench=true' }],
    });
    t = now();
    // API latency under load: while this commit converges, another process calls the API.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    await probe.api(apiUrl, ADMIN_TOKEN, API_PATHS);
    await until(`${expected} deployments Ready at ${first.slice(0, 8)}`, timeoutMs, async () => {
      return (await readyCount(poller, first)) >= expected;
    });
    const probed = await probe.apiStop();
    loopDelay.disable();
    const hubEventLoopDelayMs = {
      p50: round(loopDelay.percentile(50) / 1e6, 1),
      p99: round(loopDelay.percentile(99) / 1e6, 1),
      max: round(loopDelay.max / 1e6, 1),
    };
    log(`first commit deployed everywhere in ${((now() - t) / 1000).toFixed(2)} s`);
    const apiLatencyMs = Object.fromEntries(
      API_PATHS.map((p) => [`GET /api/v1${p}`, latency(probed.latencies[p] ?? [])]),
    );
    log(
      `API while it converged (${probed.errors} errors): ` +
        Object.entries(apiLatencyMs)
          .map(([p, l]) => `${p} p50 ${l.p50} ms p99 ${l.p99} ms (${l.calls})`)
          .join('; ') +
        `; hub event-loop delay p99 ${hubEventLoopDelayMs.p99} ms, max ${hubEventLoopDelayMs.max} ms`,
    );
    const agentsRssAfter = await agentHost.rssMiB();

    if (opts.steady !== undefined) {
      return await steadyState({
        n,
        b,
        phaseMs: opts.steady,
        hubUrl,
        db,
        poller,
        agentHost,
        registerSeconds: round(registerMs / 1000),
        agents: opts.agents,
        agentProcesses: opts.agentProcesses,
        loadAtStart,
        cpuProfile: opts.steadyCpuProfile,
      });
    }

    // --- the measured commit ----------------------------------------------------------------
    const second = await repo.commit('v2');
    const rendersBefore = await hubMetric('flotilla_bundle_renders_total');
    const reportsBefore = await hubMetric('flotilla_status_reports_total');
    const stopProfile =
      opts.cpuProfile === undefined ? undefined : await startProfile(opts.cpuProfile);
    await agentHost.record();
    const root = prefix === '' ? 'flotilla' : `${prefix}.flotilla`;
    await probe.watch(natsUrl, `${root}.agent.*.desired`, second, expected);
    const cpuAtSync = hubCpu();
    const syncAt = now();
    await api(hubUrl, 'POST', `/gitrepos/${GITREPO}/sync`);
    // Reports start being written some time after the sync; /metrics is polled (every 100 ms,
    // it costs the hub CPU) only until they do. They are all written once every deployment is
    // Ready, so the ingest window ends at convergence.
    let lastPollBeforeReports = syncAt;
    let lastMetricsPoll = 0;
    let firstReportsAt: number | undefined;
    let convergedAt = 0;
    const deadline = syncAt + timeoutMs;
    for (;;) {
      if (firstReportsAt === undefined && now() - lastMetricsPoll >= 100) {
        const polledAt = now();
        const reports = await hubMetric('flotilla_status_reports_total');
        if (reports > reportsBefore) firstReportsAt = lastPollBeforeReports;
        else lastPollBeforeReports = polledAt;
        lastMetricsPoll = polledAt;
      }
      const ready = await readyCount(poller, second);
      const at = now();
      if (ready >= expected) {
        convergedAt = at;
        break;
      }
      if (at > deadline) {
        throw new Error(`timed out: ${ready} of ${expected} deployments Ready at the new commit`);
      }
      await sleep(POLL_MS);
    }
    const hubCpuSeconds = hubCpu() - cpuAtSync;
    // Read at once: a desired state sent again after convergence (the hub re-sends what is not
    // acknowledged in time) is applied and reported again, and moves reported_at.
    const readyRows = await poller.query<{ at: string }>(
      `SELECT extract(epoch FROM reported_at) * 1000 AS at FROM deployments
        WHERE desired_commit = $1 AND state = 'Ready' AND applied_revision = desired_revision`,
      [second],
    );
    // Per deployment: from the sync to the report (agent clock, same machine) of Ready.
    const latencies = readyRows.rows
      .map((r) => (Number(r.at) - syncAt) / 1000)
      .sort((x, y) => x - y);
    const applies = await agentHost.applies();
    const watched = await probe.watchResult();
    const fanoutSeconds = watched.seen >= expected ? (watched.lastAt - syncAt) / 1000 : Number.NaN;
    if (watched.seen < expected)
      log(`fan-out: only ${watched.seen} of ${expected} (cluster, bundle) pairs seen published`);
    if (stopProfile !== undefined) {
      await stopProfile();
      log(`CPU profile of the measured commit in ${opts.cpuProfile}`);
    }
    const totalSeconds = (convergedAt - syncAt) / 1000;
    // The last Ready report (the agent's clock, same machine) → seen in PostgreSQL.
    const ingestSeconds = totalSeconds - (latencies[latencies.length - 1] ?? Number.NaN);
    log(
      `commit ${second.slice(0, 8)} Ready everywhere in ${totalSeconds.toFixed(2)} s ` +
        `(first Upsert applied after ${((applies.first - syncAt) / 1000).toFixed(2)} s, ` +
        `last after ${((applies.last - syncAt) / 1000).toFixed(2)} s); ` +
        `published everywhere after ${fanoutSeconds.toFixed(2)} s ` +
        `(${watched.messages} messages); hub CPU ${hubCpuSeconds.toFixed(2)} s`,
    );

    // The last Ready reports are written by the time the poll sees them; read the final count.
    const reportsAfter = await hubMetric('flotilla_status_reports_total');
    const convergeReports = reportsAfter - reportsBefore;
    const ingestWindow = (convergedAt - (firstReportsAt ?? syncAt)) / 1000;
    const renders = (await hubMetric('flotilla_bundle_renders_total')) - rendersBefore;
    const variantRows = await poller.query<{ n: string }>(
      'SELECT count(*) AS n FROM variant_renders WHERE commit = $1',
      [second],
    );
    const variants = Number(variantRows.rows[0]?.n ?? 0);

    const upsertMessage = JSON.stringify({
      kind: 'Upsert',
      bundle: `${GITREPO}/${bundleDir(0)}`,
      revision: 'f'.repeat(64),
      commit: second,
      options: { correctDrift: false, keepResources: false, forceConflicts: false },
      size: 1000,
      chunks: 1,
    });
    const oursWindow = (applies.last - applies.first) / 1000;
    const fanoutOurs = applies.count / (oursWindow > 0 ? oursWindow : totalSeconds);
    const deliveredUpserts = applies.count;

    // --- memory, then the agents go: the baselines run without them ---------------------
    const agentRss = (agentsRssAfter - agentsRssBefore) / n;
    const hubRss = Math.max(
      opts.agents === 'child' ? await rssMiB() : hubRssRegistered,
      ...children.map((c) => c.rssMiB()),
    );
    await agentHost.stop();

    // --- hub ingest capacity ----------------------------------------------------------------
    // The convergence above shows how fast agents send reports, not how fast the hub writes
    // them. With the agents gone, a child process publishes a burst of reports exactly as
    // agents do (JetStream, `status(cluster)`, StatusReport; the applied revisions, alternately
    // Modified and Ready so that every report changes its row) as fast as it can, and the
    // burst is timed from its first publish until PostgreSQL holds the last report of every
    // deployment. The raw baseline upserts as many rows.
    const stopIngestProfile =
      opts.ingestCpuProfile === undefined ? undefined : await startProfile(opts.ingestCpuProfile);
    const burst = await measureIngest({
      natsUrl,
      prefix,
      db: poller,
      timeoutMs,
      reportsWritten: () => hubMetric('flotilla_status_reports_total'),
      hubCpuSeconds: hubCpu,
    });
    if (stopIngestProfile !== undefined) {
      await stopIngestProfile();
      log(`CPU profile of the ingest burst in ${opts.ingestCpuProfile}`);
    }
    const reports = burst.reports;
    log(
      `ingest: ${reports} reports (${burst.rounds} per deployment) written in ` +
        `${burst.seconds.toFixed(2)} s (published in ${burst.publishSeconds.toFixed(2)} s, ` +
        `hub CPU ${burst.hubCpuSeconds.toFixed(2)} s; ` +
        `the hub counted ${burst.written})`,
    );

    log(`raw PostgreSQL upsert of ${reports} rows`);
    const rawUpsert = await rawUpsertPerSecond(db.url, reports);
    log(`raw NATS fan-out: ${b} messages of ${upsertMessage.length} B to each of ${n} connections`);
    const rawFanout = await rawFanoutPerSecond(natsUrl, prefix, n, b, upsertMessage.length);

    const reportsPerSecond = reports / burst.seconds;
    const arrivalPerSecond = convergeReports / ingestWindow;
    // What the measured commit would take if the hub cost nothing beyond NATS and PostgreSQL.
    const convergeFloorSeconds = expected / rawFanout + convergeReports / rawUpsert;
    return {
      clusters: n,
      bundles: b,
      hubs: opts.hubs,
      natsCluster: opts.natsCluster ?? 1,
      apiHub: opts.apiHub,
      registerSeconds: round(registerMs / 1000),
      convergeSeconds: {
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1] ?? Number.NaN),
        total: round(totalSeconds),
      },
      hubCpuSeconds: round(hubCpuSeconds),
      fanoutSeconds: round(fanoutSeconds),
      ingestSeconds: round(ingestSeconds),
      convergeFloorSeconds: round(convergeFloorSeconds),
      convergeVsFloor: round(totalSeconds / convergeFloorSeconds, 2),
      apiLatencyMs,
      hubEventLoopDelayMs,
      ingest: {
        reportsPerSecond: round(reportsPerSecond, 0),
        rawUpsertPerSecond: round(rawUpsert, 0),
        ratio: round(reportsPerSecond / rawUpsert),
        reports,
        seconds: round(burst.seconds),
        publishSeconds: round(burst.publishSeconds),
        hubCpuSeconds: round(burst.hubCpuSeconds),
        arrivalPerSecond: round(arrivalPerSecond, 0),
        convergeReports,
      },
      fanout: {
        ours: round(fanoutOurs, 0),
        raw: round(rawFanout, 0),
        ratio: round(fanoutOurs / rawFanout),
        messages: deliveredUpserts,
      },
      hubRssMiB: round(hubRss, 1),
      agentRssMiB: round(agentRss, 3),
      agents: opts.agents,
      agentProcesses: opts.agents === 'child' ? opts.agentProcesses : 0,
      renders,
      variants,
      machine: machine(loadAtStart),
    };
  } finally {
    await cleanup();
  }
}

/** Lease of a cluster: three heartbeat intervals of the bench's hub (5 s), and some margin. */
const FLAP_WAIT_MS = 60_000;

interface PgStats {
  commits: number;
  rows: number;
}

async function pgStats(client: pg.Client, database: string): Promise<PgStats> {
  const r = await client.query<{ commits: string; rows: string }>(
    `SELECT xact_commit AS commits, tup_inserted + tup_updated + tup_deleted AS rows
       FROM pg_stat_database WHERE datname = $1`,
    [database],
  );
  return { commits: Number(r.rows[0]?.commits ?? 0), rows: Number(r.rows[0]?.rows ?? 0) };
}

/**
 * Tells when clusters reach a state: one query every 500 ms for every cluster waited on (not
 * one per cluster: the bench's process is the hub's, and its queries count in the hub's CPU).
 */
class ClusterStates {
  private readonly waiting = new Map<
    string,
    { state: string; deadline: number; done: (reached: boolean) => void }
  >();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly client: pg.Client,
    private readonly counter: { queries: number },
  ) {}

  /** Resolves true once the cluster is in `state`; false after FLAP_WAIT_MS. */
  reaches(name: string, state: string): Promise<boolean> {
    return new Promise((done) => {
      this.waiting.set(name, { state, deadline: Date.now() + FLAP_WAIT_MS, done });
      this.timer ??= setInterval(() => void this.poll(), 500);
    });
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      this.counter.queries++;
      const r = await this.client.query<{ name: string; state: string }>(
        'SELECT name, state FROM clusters WHERE name = ANY($1::text[])',
        [[...this.waiting.keys()]],
      );
      const states = new Map(r.rows.map((row) => [row.name, row.state]));
      const at = Date.now();
      for (const [name, w] of this.waiting) {
        if (states.get(name) === w.state) w.done(true);
        else if (at >= w.deadline) w.done(false);
        else continue;
        this.waiting.delete(name);
      }
    } catch (err) {
      log(`polling cluster states: ${String(err)}`);
    } finally {
      this.polling = false;
      if (this.waiting.size === 0 && this.timer !== undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }
  }
}

/**
 * One phase of a steady-state run: `phaseMs` with every cluster Online and nothing changing,
 * or (`flapping`) with 1 % of the clusters a minute (at least one) taken Offline and back: the
 * agent stops, the hub marks the cluster Offline when its lease lapses, the agent starts again.
 */
async function steadyPhase(opts: {
  n: number;
  phaseMs: number;
  flapping: boolean;
  hubUrl: string;
  db: BenchDatabase;
  poller: pg.Client;
  agentHost: AgentHost;
  /** Write a CPU profile of the hub's process over the phase to this file. */
  cpuProfile?: string;
}): Promise<SteadyPhase> {
  const { n, phaseMs, hubUrl, poller, agentHost } = opts;
  const stopProfile =
    opts.cpuProfile === undefined ? undefined : await startProfile(opts.cpuProfile);
  // The bench's own queries on the hub's database, subtracted from its commits.
  const counter = { queries: 0 };
  const stats = async () => {
    counter.queries++;
    return pgStats(poller, opts.db.name);
  };
  const counters = async () => ({
    resolves: await metric(hubUrl, 'flotilla_gitrepo_syncs_total'),
    heartbeats: await metric(hubUrl, 'flotilla_heartbeats_total'),
    transitions: await metric(hubUrl, 'flotilla_cluster_state_transitions_total'),
  });
  const before = await counters();
  const statsBefore = await stats();
  const cpu = process.cpuUsage();
  const started = now();
  const flaps: Promise<void>[] = [];
  const states = new ClusterStates(poller, counter);
  if (opts.flapping) {
    const perMinute = Math.max(1, Math.round(n / 100));
    const total = Math.max(1, Math.floor((perMinute * phaseMs) / 60_000));
    const every = phaseMs / total;
    const stride = Math.max(1, Math.floor(n / total));
    for (let k = 0; k < total; k++) {
      const i = (k * stride) % n;
      const name = clusterName(i);
      flaps.push(
        (async () => {
          await agentHost.stopAgent(i);
          if (!(await states.reaches(name, 'Offline')))
            log(`flap: ${name} did not go Offline within ${FLAP_WAIT_MS} ms`);
          await agentHost.restartAgent(i);
          if (!(await states.reaches(name, 'Online')))
            log(`flap: ${name} did not come back Online within ${FLAP_WAIT_MS} ms`);
        })(),
      );
      const wait = started + (k + 1) * every - now();
      if (wait > 0) await sleep(wait);
    }
  }
  const rest = started + phaseMs - now();
  if (rest > 0) await sleep(rest);
  const used = process.cpuUsage(cpu);
  const seconds = (now() - started) / 1000;
  const statsAfter = await stats();
  const after = await counters();
  if (stopProfile !== undefined) {
    await stopProfile();
    const profile = JSON.parse(await readFile(opts.cpuProfile!, 'utf8')) as CpuProfile;
    log(
      `CPU profile of the ${opts.flapping ? 'flapping' : 'idle'} phase in ${opts.cpuProfile}; ` +
        `self time by function, top 25:\n${formatSelfTime(selfTimeByFunction(profile), 25)}`,
    );
  }
  // Flaps still under way finish outside the measured window.
  await Promise.all(flaps);
  return {
    seconds: round(seconds, 1),
    hubCpuPercent: round(((used.user + used.system) / 1e6 / seconds) * 100, 1),
    pgCommitsPerSecond: round(
      (statsAfter.commits - statsBefore.commits - counter.queries) / seconds,
      1,
    ),
    pgRowsWrittenPerSecond: round((statsAfter.rows - statsBefore.rows) / seconds, 1),
    gitrepoResolves: after.resolves - before.resolves,
    heartbeatsPerSecond: round((after.heartbeats - before.heartbeats) / seconds, 1),
    clusterTransitions: after.transitions - before.transitions,
    flaps: flaps.length,
  };
}

/** The steady-state run: an idle phase, then a flapping one, each `phaseMs` long. */
async function steadyState(opts: {
  n: number;
  b: number;
  phaseMs: number;
  hubUrl: string;
  db: BenchDatabase;
  poller: pg.Client;
  agentHost: AgentHost;
  registerSeconds: number;
  agents: 'inline' | 'child';
  agentProcesses: number;
  loadAtStart: number;
  cpuProfile?: string;
}): Promise<SteadyResult> {
  const profileOf = (phase: string) =>
    opts.cpuProfile === undefined ? undefined : phaseProfileFile(opts.cpuProfile, phase);
  // Let the first commit's reports and re-sends settle, and PostgreSQL's statistics catch up.
  await sleep(5_000);
  log(`steady: ${opts.n} clusters Online, nothing changing, for ${opts.phaseMs / 1000} s`);
  const idle = await steadyPhase({ ...opts, flapping: false, cpuProfile: profileOf('idle') });
  log(`steady: idle ${JSON.stringify(idle)}`);
  log(`steady: 1 % of the clusters a minute flap Offline/Online, for ${opts.phaseMs / 1000} s`);
  const flapping = await steadyPhase({
    ...opts,
    flapping: true,
    cpuProfile: profileOf('flapping'),
  });
  log(`steady: flapping ${JSON.stringify(flapping)}`);
  return {
    mode: 'steady',
    clusters: opts.n,
    bundles: opts.b,
    registerSeconds: opts.registerSeconds,
    idle,
    flapping,
    hubRssMiB: round(await rssMiB(), 1),
    agents: opts.agents,
    agentProcesses: opts.agentProcesses,
    machine: machine(opts.loadAtStart),
  };
}

function table(r: BenchResult): string {
  const s = (x: number) => `${x} s`;
  return formatTable({
    columns: ['figure', 'value', 'detail'],
    rows: [
      [
        'clusters × bundles',
        `${r.clusters} × ${r.bundles}`,
        `${r.clusters * r.bundles} deployments`,
      ],
      ['hubs', r.hubs, r.hubs > 1 ? 'the first in this process, the others `flotilla hub`' : ''],
      [
        'natsCluster',
        r.natsCluster,
        r.natsCluster > 1 ? 'loopback nats-servers, streams with as many replicas' : 'NATS_URL',
      ],
      [
        'apiHub',
        r.apiHub ? 'yes' : 'no',
        r.apiHub ? 'API timed on `flotilla hub --services api`' : 'API timed on the first hub',
      ],
      ['registerSeconds', s(r.registerSeconds), 'POST /clusters + agents until all Online'],
      ['convergeSeconds.total', s(r.convergeSeconds.total), 'sync → every deployment Ready in DB'],
      ['convergeSeconds.p50', s(r.convergeSeconds.p50), 'sync → agent reported Ready'],
      ['convergeSeconds.p99', s(r.convergeSeconds.p99), ''],
      ['convergeSeconds.max', s(r.convergeSeconds.max), ''],
      ['hubCpuSeconds', s(r.hubCpuSeconds), "hub processes' CPU (sum), sync → converged"],
      ['fanoutSeconds', s(r.fanoutSeconds), 'sync → desired state published to every cluster'],
      ['ingestSeconds', s(r.ingestSeconds), 'last Ready report sent → in PostgreSQL'],
      [
        'convergeFloorSeconds',
        s(r.convergeFloorSeconds),
        'raw NATS publishes + raw pg upserts of as many messages and reports',
      ],
      ['convergeVsFloor', r.convergeVsFloor, 'target ≤ 2 (1,000) / ≤ 3 (10,000)'],
      ...Object.entries(r.apiLatencyMs).map(([path, l]) => [
        `${path} p50 / p99`,
        `${l.p50} / ${l.p99} ms`,
        `${l.calls} calls while the first commit converged`,
      ]),
      [
        'hubEventLoopDelayMs p99 / max',
        `${r.hubEventLoopDelayMs.p99} / ${r.hubEventLoopDelayMs.max} ms`,
        "the hub's event loop over the same window",
      ],
      [
        'ingest.reportsPerSecond',
        r.ingest.reportsPerSecond,
        `burst of ${r.ingest.reports} reports written in ${r.ingest.seconds} s`,
      ],
      [
        'ingest.rawUpsertPerSecond',
        r.ingest.rawUpsertPerSecond,
        'pg unnest upsert into a copy of deployments, 1000/batch',
      ],
      ['ingest.ratio', r.ingest.ratio, 'target ≥ 0.5'],
      [
        'ingest.arrivalPerSecond',
        r.ingest.arrivalPerSecond,
        `${r.ingest.convergeReports} reports sent by agents during the measured commit`,
      ],
      ['fanout.ours', r.fanout.ours, `${r.fanout.messages} Upserts applied by agents`],
      ['fanout.raw', r.fanout.raw, 'plain NATS publish, same size and fan-out'],
      ['fanout.ratio', r.fanout.ratio, ''],
      [
        'hubRssMiB',
        r.hubRssMiB,
        r.agents === 'child'
          ? `${r.hubs > 1 ? 'largest ' : ''}hub process after the measured commit`
          : 'hub with clusters registered, before agents',
      ],
      ['agentRssMiB', r.agentRssMiB, 'per agent, after the first deployment'],
      ['agentProcesses', r.agentProcesses, r.agents === 'inline' ? "in the hub's process" : ''],
      ['renders', r.renders, 'flotilla_bundle_renders_total, measured commit'],
      ['variants', r.variants, 'variant_renders of the measured commit'],
      ['load average', `${r.machine.loadAverage.start} → ${r.machine.loadAverage.end}`, '1 min'],
    ],
  });
}

function steadyTable(r: SteadyResult): string {
  const row = (figure: string, f: (p: SteadyPhase) => number | string, detail = '') => [
    figure,
    `${f(r.idle)} / ${f(r.flapping)}`,
    detail,
  ];
  return formatTable({
    columns: ['figure', 'idle / flapping', 'detail'],
    rows: [
      ['clusters × bundles', `${r.clusters} × ${r.bundles}`, `${r.idle.seconds} s each phase`],
      row('hubCpuPercent', (p) => p.hubCpuPercent, '% of one core; target ≤ 5 / ≤ 10'),
      row('pgCommitsPerSecond', (p) => p.pgCommitsPerSecond, 'pg_stat_database xact_commit'),
      row(
        'pgRowsWrittenPerSecond',
        (p) => p.pgRowsWrittenPerSecond,
        'tup_inserted+updated+deleted',
      ),
      row('gitrepoResolves', (p) => p.gitrepoResolves, 'must be 0'),
      row('heartbeatsPerSecond', (p) => p.heartbeatsPerSecond),
      row('clusterTransitions', (p) => p.clusterTransitions),
      row('flaps', (p) => p.flaps, 'clusters taken Offline and back'),
      ['hubRssMiB', r.hubRssMiB, ''],
      ['load average', `${r.machine.loadAverage.start} → ${r.machine.loadAverage.end}`, '1 min'],
    ],
  });
}

/** A commander option parser for durations (`60s`, `2m`). */
function duration(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error('must be more than 0');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

const program = new Command('bench')
  .description('Benchmark the hub with simulated clusters (see README "Benchmark")')
  .option('--clusters <n>', 'simulated clusters (one agent each)', positiveInt, 100)
  .option('--bundles <n>', 'plain-YAML bundles in the Git repository', positiveInt, 5)
  .option('--json <file>', 'write the figures to this JSON file')
  .option('--concurrency <n>', 'registrations and agent starts at a time', positiveInt, 50)
  .option('--hubs <n>', 'hubs on the same database and NATS', positiveInt, 1)
  .option(
    '--api-hub',
    'time the API on a hub process of its own (flotilla hub --services api)',
    false,
  )
  .option(
    '--nats-cluster <nodes>',
    'start a NATS cluster of this many nodes on loopback (streams with as many replicas)',
    positiveInt,
  )
  .option('--timeout <seconds>', 'give up waiting for a phase after this long', positiveInt, 120)
  .addOption(
    new Option(
      '--agents <where>',
      "run the agents in child processes (default) or in the hub's process",
    )
      .choices(['inline', 'child'])
      .default('child'),
  )
  .option(
    '--agent-processes <n>',
    'spread the agents over this many child processes',
    positiveInt,
    1,
  )
  .option(
    '--steady <duration>',
    'steady state instead: idle, then 1 % of the clusters flapping a minute, each this long',
    duration,
  )
  .option('--cpu-profile <file>', 'write a CPU profile of the measured commit (.cpuprofile)')
  .option('--ingest-cpu-profile <file>', 'write a CPU profile of the ingest burst (.cpuprofile)')
  .option(
    '--steady-cpu-profile <file>',
    'with --steady: a CPU profile of each phase (<file> with .idle/.flapping before the extension)',
  )
  .action(async (opts: Options) => {
    const result = await runBench(opts);
    process.stdout.write('mode' in result ? steadyTable(result) : table(result));
    if (opts.json !== undefined) {
      await writeFile(opts.json, `${JSON.stringify(result, null, 2)}\n`);
      log(`wrote ${opts.json}`);
    }
  });

runBenchCommand(program);
