// `npm run bench -- --clusters N --bundles B [--json FILE]`: the hub, N simulated agents (in one
// child process, or with --agents inline in the hub's process) and a Git repository with B
// bundles.
// Measures registration, convergence of a commit, status ingest and desired-state fan-out
// against raw PostgreSQL / NATS baselines, and memory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { positiveInt, runBenchCommand } from './cli.js';
import pg from 'pg';
import { formatTable } from '../cli/output.js';
import { loadHubConfig } from '../libs/config/config.js';
import { runHub, type RunningHub } from '../services/hub/hub.js';
import { ChildAgents, InlineAgents, rssMiB, type AgentHost } from './agent-host.js';
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

/** The figures of one run; the keys of the JSON file. */
export interface BenchResult {
  clusters: number;
  bundles: number;
  registerSeconds: number;
  convergeSeconds: { p50: number; p99: number; max: number; total: number };
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
    /** CPU time of the hub's process during the burst. */
    hubCpuSeconds: number;
    arrivalPerSecond: number;
    convergeReports: number;
  };
  fanout: { ours: number; raw: number; ratio: number; messages: number };
  hubRssMiB: number;
  agentRssMiB: number;
  /** Where the agents ran: `inline` (the hub's process) or `child` (one child process). */
  agents: 'inline' | 'child';
  renders: number;
  variants: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string };
}

interface Options {
  clusters: number;
  bundles: number;
  json?: string;
  concurrency: number;
  timeout: number;
  cpuProfile?: string;
  ingestCpuProfile?: string;
  agents: 'inline' | 'child';
}

const GITREPO = 'bench';
const POLL_MS = 50;

const now = (): number => performance.timeOrigin + performance.now();

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

/** Sum of a Prometheus metric's samples (all label sets) at the hub's /metrics. */
async function metric(hubUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${hubUrl}/metrics`)).text();
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

export async function runBench(opts: Options): Promise<BenchResult> {
  const { clusters: n, bundles: b } = opts;
  const expected = n * b;
  const timeoutMs = opts.timeout * 1000;
  const natsUrl = benchNatsUrl();
  const prefix = benchSubjectPrefix();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
  };
  try {
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
    const hub: RunningHub = await runHub({
      config: loadHubConfig({
        DATABASE_URL: db.url,
        NATS_URL: natsUrl,
        PORT: '0',
        GRPC_PORT: '0',
        HOST: '127.0.0.1',
        FLOTILLA_DATA_DIR: dataDir,
        FLOTILLA_SUBJECT_PREFIX: prefix,
        FLOTILLA_HEARTBEAT_INTERVAL: '5s',
        FLOTILLA_ADMIN_TOKEN: ADMIN_TOKEN,
        // The benchmark's Git repository is on this machine.
        FLOTILLA_FILE_URL_ROOT: tmpdir(),
      }),
      logLevels: ['fatal', 'error'],
    });
    cleanups.push(() => hub.close());
    const hubUrl = hub.httpUrl;
    log(`hub at ${hubUrl}`);

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
    const agentHost: AgentHost = opts.agents === 'child' ? new ChildAgents() : new InlineAgents();
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
    await until(`${expected} deployments Ready at ${first.slice(0, 8)}`, timeoutMs, async () => {
      return (await readyCount(poller, first)) >= expected;
    });
    log(`first commit deployed everywhere in ${((now() - t) / 1000).toFixed(2)} s`);
    const agentsRssAfter = await agentHost.rssMiB();

    // --- the measured commit ----------------------------------------------------------------
    const second = await repo.commit('v2');
    const rendersBefore = await metric(hubUrl, 'flotilla_bundle_renders_total');
    const reportsBefore = await metric(hubUrl, 'flotilla_status_reports_total');
    const stopProfile =
      opts.cpuProfile === undefined ? undefined : await startProfile(opts.cpuProfile);
    await agentHost.record();
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
        const reports = await metric(hubUrl, 'flotilla_status_reports_total');
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
    const applies = await agentHost.applies();
    if (stopProfile !== undefined) {
      await stopProfile();
      log(`CPU profile of the measured commit in ${opts.cpuProfile}`);
    }
    const totalSeconds = (convergedAt - syncAt) / 1000;
    log(
      `commit ${second.slice(0, 8)} Ready everywhere in ${totalSeconds.toFixed(2)} s ` +
        `(first Upsert applied after ${((applies.first - syncAt) / 1000).toFixed(2)} s, ` +
        `last after ${((applies.last - syncAt) / 1000).toFixed(2)} s)`,
    );

    // The last Ready reports are written by the time the poll sees them; read the final count.
    const reportsAfter = await metric(hubUrl, 'flotilla_status_reports_total');
    const convergeReports = reportsAfter - reportsBefore;
    const ingestWindow = (convergedAt - (firstReportsAt ?? syncAt)) / 1000;
    const renders = (await metric(hubUrl, 'flotilla_bundle_renders_total')) - rendersBefore;
    const readyRows = await poller.query<{ at: string }>(
      `SELECT extract(epoch FROM reported_at) * 1000 AS at FROM deployments
        WHERE desired_commit = $1 AND state = 'Ready' AND applied_revision = desired_revision`,
      [second],
    );
    // Per deployment: from the sync to the report (agent clock, same machine) of Ready.
    const latencies = readyRows.rows
      .map((r) => (Number(r.at) - syncAt) / 1000)
      .sort((x, y) => x - y);
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
    const hubRss = opts.agents === 'child' ? await rssMiB() : hubRssRegistered;
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
      reportsWritten: () => metric(hubUrl, 'flotilla_status_reports_total'),
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
    const clusterNames = Array.from({ length: n }, (_, i) => clusterName(i));
    const bundleNames = Array.from({ length: b }, (_, i) => `${GITREPO}/${bundleDir(i)}`);
    const rawUpsert = await rawUpsertPerSecond(db.url, clusterNames, bundleNames, reports);
    log(`raw NATS fan-out: ${b} messages of ${upsertMessage.length} B to each of ${n} connections`);
    const rawFanout = await rawFanoutPerSecond(natsUrl, prefix, n, b, upsertMessage.length);

    const cpu = cpus();
    const reportsPerSecond = reports / burst.seconds;
    const arrivalPerSecond = convergeReports / ingestWindow;
    return {
      clusters: n,
      bundles: b,
      registerSeconds: round(registerMs / 1000),
      convergeSeconds: {
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1] ?? Number.NaN),
        total: round(totalSeconds),
      },
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
      renders,
      variants,
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? 'unknown',
        memoryGiB: round(totalmem() / 2 ** 30, 1),
        node: process.version,
      },
    };
  } finally {
    await cleanup();
  }
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
      ['registerSeconds', s(r.registerSeconds), 'POST /clusters + agents until all Online'],
      ['convergeSeconds.total', s(r.convergeSeconds.total), 'sync → every deployment Ready in DB'],
      ['convergeSeconds.p50', s(r.convergeSeconds.p50), 'sync → agent reported Ready'],
      ['convergeSeconds.p99', s(r.convergeSeconds.p99), ''],
      ['convergeSeconds.max', s(r.convergeSeconds.max), ''],
      [
        'ingest.reportsPerSecond',
        r.ingest.reportsPerSecond,
        `burst of ${r.ingest.reports} reports written in ${r.ingest.seconds} s`,
      ],
      ['ingest.rawUpsertPerSecond', r.ingest.rawUpsertPerSecond, 'pg unnest upsert, 1000/batch'],
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
          ? 'hub process after the measured commit'
          : 'hub with clusters registered, before agents',
      ],
      ['agentRssMiB', r.agentRssMiB, 'per agent, after the first deployment'],
      ['renders', r.renders, 'flotilla_bundle_renders_total, measured commit'],
      ['variants', r.variants, 'variant_renders of the measured commit'],
    ],
  });
}

const program = new Command('bench')
  .description('Benchmark the hub with simulated clusters (see README "Benchmark")')
  .option('--clusters <n>', 'simulated clusters (one agent each)', positiveInt, 100)
  .option('--bundles <n>', 'plain-YAML bundles in the Git repository', positiveInt, 5)
  .option('--json <file>', 'write the figures to this JSON file')
  .option('--concurrency <n>', 'registrations and agent starts at a time', positiveInt, 50)
  .option('--timeout <seconds>', 'give up waiting for a phase after this long', positiveInt, 120)
  .addOption(
    new Option(
      '--agents <where>',
      "run the agents in one child process (default) or in the hub's process",
    )
      .choices(['inline', 'child'])
      .default('child'),
  )
  .option('--cpu-profile <file>', 'write a CPU profile of the measured commit (.cpuprofile)')
  .option('--ingest-cpu-profile <file>', 'write a CPU profile of the ingest burst (.cpuprofile)')
  .action(async (opts: Options) => {
    const result = await runBench(opts);
    process.stdout.write(table(result));
    if (opts.json !== undefined) {
      await writeFile(opts.json, `${JSON.stringify(result, null, 2)}\n`);
      log(`wrote ${opts.json}`);
    }
  });

runBenchCommand(program);
