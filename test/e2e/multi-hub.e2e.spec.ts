import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { STATUS_CONSUMER, statusStreamName } from '../../libs/nats/index.js';
import { findFreePort } from '../../libs/runtime/index.js';
import {
  type GitServer,
  type NatsCluster,
  type TestDatabase,
  createTestDatabase,
  eventually,
  startGitServer,
  startNatsCluster,
  testSubjectPrefix,
} from '../../libs/testing/index.js';
import { spawnCli } from '../support/cli.js';
import {
  appDeployment,
  ringClusters,
  ringStrategy,
  ringGitRepo,
} from '../support/rollout-fixtures.js';

/**
 * Several hub replicas (issue 16, "More than one hub"): two `flotilla hub` processes on one
 * PostgreSQL database and a three-node NATS cluster (streams with three replicas), agents reaching
 * the hubs through one address as they would through a Kubernetes Service. Mid-rollout one hub and
 * one NATS node are killed with SIGKILL; the rollout must complete on the surviving hub with
 * nothing lost or done twice, and the surviving hub's API must answer throughout.
 *
 * The NATS cluster runs without authentication, as the tests' shared NATS does (NATS_URL without
 * FLOTILLA_NATS_AUTH_DIR): authentication is the same on one server or three (every server
 * includes the one `nats-server.conf` of `flotilla hub nats-init`), and nats-auth.e2e.spec.ts
 * covers it.
 */

// The canary bakes long enough for the operator actions and the kill below to come mid-rollout.
const strategy = ringStrategy({ canaryBake: '8s' });
const app = (version: string) => appDeployment(version, { readyAfter: '300ms' });
const clusters = ringClusters;
const BUNDLE = 'ring/app';

interface Hub {
  name: string;
  url: string;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

let nats: NatsCluster;
let db: TestDatabase;
let git: GitServer;
let front: Server;
let frontUrl: string;
const hubs: Hub[] = [];
const agents: RunningAgent[] = [];
const dirs: string[] = [];
const sockets = new Set<Socket>();
const adminToken = `flt_multihub_${randomBytes(16).toString('hex')}`;
const subjectPrefix = testSubjectPrefix();
/** The hub left running by the kill test. */
let survivorName: string | undefined;

function killHub(hub: Hub): void {
  try {
    process.kill(-hub.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The PostgreSQL application name of hub `name`'s connections. */
const appName = (name: string) => `flotilla-hub-${name}`;

async function startHub(name: string, env: Record<string, string | undefined>): Promise<Hub> {
  const port = await findFreePort();
  const dbUrl = new URL(db.url);
  dbUrl.searchParams.set('application_name', appName(name));
  const dataDir = mkdtempSync(join(tmpdir(), `flotilla-multihub-${name}-`));
  dirs.push(dataDir);
  const proc = spawnCli(['hub'], {
    ...env,
    DATABASE_URL: dbUrl.toString(),
    PORT: String(port),
    GRPC_PORT: String(await findFreePort()),
    FLOTILLA_DATA_DIR: dataDir,
  });
  if (proc.child.pid === undefined) throw new Error(`hub ${name} did not start`);
  const hub = {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: proc.child.pid,
    output: proc.output,
    exited: proc.exited,
  };
  hubs.push(hub);
  return hub;
}

async function ready(hub: Hub): Promise<void> {
  let exited = false;
  void hub.exited.then(() => (exited = true));
  await eventually(
    `hub ${hub.name} ready`,
    async () => {
      if (exited) throw new Error(`hub ${hub.name} exited:\n${hub.output()}`);
      return (await fetch(`${hub.url}/readyz`)).status;
    },
    (s) => s === 200,
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

/**
 * One address for both hubs, as a Kubernetes Service gives: each connection goes to the first
 * hub that accepts it.
 */
async function startFront(targets: Hub[]): Promise<Server> {
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const tryTarget = (i: number): void => {
      const target = targets[i];
      if (target === undefined) {
        client.destroy();
        return;
      }
      const upstream = connectTcp(Number(new URL(target.url).port), '127.0.0.1');
      let connected = false;
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.once('error', () => {
        if (connected) client.destroy();
        else tryTarget(i + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.resume();
      });
    };
    tryTarget(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function get(base: string, path: string): Promise<any> {
  const res = await fetch(`${base}/api/v1/${path}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function post(base: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${base}/api/v1/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return res.json().catch(() => undefined);
}

const bundle = (base = frontUrl) => get(base, `bundles/${encodeURIComponent(BUNDLE)}`);
async function rolloutsOf(base = frontUrl): Promise<any[]> {
  return (await get(base, `rollouts?bundle=${encodeURIComponent(BUNDLE)}`)).items;
}
const rollout = (id: string, base = frontUrl) => get(base, `rollouts/${id}`);

/** Every cluster Ready at `commit`, as the API shows the bundle. */
function convergedAt(commit: string) {
  return (b: any) =>
    b.deployments.length === clusters.length &&
    b.deployments.every((d: any) => d.commit === commit && d.state === 'Ready');
}

/**
 * Transitions recorded twice (two replicas driving one rollout) break the chain of each subject's
 * transitions: the rollout's, each stage's, each cluster's `from` is the `to` before it.
 */
function brokenChains(audit: any[]): string[] {
  const last = new Map<string, string>();
  const broken: string[] = [];
  for (const entry of audit) {
    if (typeof entry.to !== 'string') continue;
    const subject =
      typeof entry.cluster === 'string'
        ? `cluster ${entry.cluster}`
        : typeof entry.stage === 'string'
          ? `stage ${entry.stage}`
          : 'rollout';
    const before = last.get(subject);
    if (before !== undefined && typeof entry.from === 'string' && entry.from !== before)
      broken.push(`${subject}: ${entry.action} ${entry.from} → ${entry.to} after → ${before}`);
    last.set(subject, entry.to);
  }
  return broken;
}

/**
 * Which hub process holds each delivery lease is not visible from outside (holders are random
 * ids): a trigger records, for every holder id, the application name of the connection that
 * wrote it.
 */
async function recordLeaseHolders(): Promise<void> {
  await sql(`CREATE TABLE test_lease_holders (holder text PRIMARY KEY, app text NOT NULL);
    CREATE FUNCTION test_lease_holder() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO test_lease_holders VALUES (NEW.holder, current_setting('application_name'))
        ON CONFLICT DO NOTHING;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_lease_holder BEFORE INSERT OR UPDATE ON delivery_leases
      FOR EACH ROW EXECUTE FUNCTION test_lease_holder()`);
}

/** The hub holding the bundle's delivery lease (and so driving its rollout) now. */
async function leaseHolder(): Promise<string | undefined> {
  const rows = await sql<{ app: string }>(
    `SELECT h.app FROM delivery_leases l JOIN test_lease_holders h USING (holder)
      WHERE l.bundle = $1 AND l.expires_at > now()`,
    [BUNDLE],
  );
  return hubs.find((h) => appName(h.name) === rows[0]?.app)?.name;
}

async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  nats = await startNatsCluster(3);
  db = await createTestDatabase();
  git = await startGitServer();
  const env = {
    DATABASE_URL: db.url,
    // Every member of the NATS cluster; agents are handed the same list.
    NATS_URL: nats.url,
    FLOTILLA_NATS_REPLICAS: '3',
    FLOTILLA_SUBJECT_PREFIX: subjectPrefix,
    HOST: '127.0.0.1',
    // A lease of three intervals outlasts an agent's reconnect to another NATS node.
    FLOTILLA_HEARTBEAT_INTERVAL: '2s',
    FLOTILLA_FILE_URL_ROOT: tmpdir(),
    FLOTILLA_ADMIN_TOKEN: adminToken,
    // Replicas share the key secrets are encrypted with.
    FLOTILLA_SECRET_KEY: randomBytes(32).toString('hex'),
  };
  // Both start at once: migrations, the signing key and the stream are raced for.
  const [a, b] = await Promise.all([startHub('a', env), startHub('b', env)]);
  await Promise.all([ready(a), ready(b)]);
  await recordLeaseHolders();
  front = await startFront(hubs);
  frontUrl = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
  for (const name of clusters) {
    const labels = name === 'c1' ? { ring: 'canary' } : { ring: 'main' };
    const { token } = await post(frontUrl, 'clusters', { name, labels });
    agents.push(
      await startAgent({
        hubUrl: frontUrl,
        token,
        driver: new SimulatedCluster(),
        stateDir: mkdtempSync(join(tmpdir(), `flotilla-multihub-${name}-`)),
        logger: pino({ level: 'silent' }),
      }),
    );
  }
  await eventually(
    'every cluster Online',
    () => get(frontUrl, 'clusters'),
    (r) => r.items.length === clusters.length && r.items.every((c: any) => c.state === 'Online'),
  );
}, 300_000);

beforeEach(({ onTestFailed }) => {
  // The hubs' own account of what went wrong.
  onTestFailed(() => {
    for (const hub of hubs) console.log(`--- hub ${hub.name}\n${hub.output().slice(-20_000)}`);
  });
});

afterAll(async () => {
  // Pass or fail, nothing started here outlives the file.
  await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
  for (const hub of hubs) killHub(hub);
  await Promise.all(hubs.map((h) => h.exited));
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => (front ? front.close(resolve) : resolve(undefined)));
  await nats?.stop();
  await git?.stop();
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('two hub replicas on one database and a three-node NATS cluster', () => {
  let head: string;

  it('the status stream and its consumer are kept on all three NATS nodes (FLOTILLA_NATS_REPLICAS=3)', async () => {
    const nc = await connect({ servers: nats.url.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = await jsm.streams.info(statusStreamName(subjectPrefix));
      expect(stream.config.num_replicas).toBe(3);
      expect(stream.cluster?.replicas).toHaveLength(2);
      const consumer = await jsm.consumers.info(statusStreamName(subjectPrefix), STATUS_CONSUMER);
      expect(consumer.cluster?.replicas).toHaveLength(2);
    } finally {
      await nc.close();
    }
  });

  it('a first staged rollout completes with both hubs running', async () => {
    const repo = await git.createRepo('ring', {
      'app/fleet.yaml': strategy,
      'app/app.yaml': app('1'),
    });
    await post(frontUrl, 'gitrepos', ringGitRepo(repo.url));
    const done = await eventually(
      'the first rollout Succeeded',
      () => rolloutsOf(),
      (items) => items[0]?.state === 'Succeeded',
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    head = done[0].toCommit;
    await eventually('every cluster Ready at the first commit', () => bundle(), convergedAt(head));
  });

  it('kill -9 of the hub driving a rollout and of one NATS node mid-rollout: the rollout completes on the other hub, every cluster converges, nothing recorded is lost or done twice, and its API answers throughout', async () => {
    const firstRollout = (await rolloutsOf())[0];
    const firstAudit = (await rollout(firstRollout.id)).audit;

    head = await git.commit('ring', { 'app/app.yaml': app('2') });
    await post(frontUrl, 'gitrepos/ring/sync', {});
    const running = await eventually(
      'the canary released in the second rollout',
      () => rolloutsOf(),
      (items) =>
        items[0]?.toCommit === head &&
        items[0].state !== 'Succeeded' &&
        items[0].stages[0].clusters[0].state !== 'Waiting',
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const rolloutId: string = running[0].id;

    // Operator actions through either hub's API are carried out by whichever replica drives the
    // rollout (each asked a few times: NATS picks replicas at random).
    for (const [i, hub] of [...hubs, ...hubs].entries()) {
      const paused = await post(hub.url, `rollouts/${rolloutId}/pause`, { reason: `check ${i}` });
      expect(paused.state).toBe('Paused');
      const resumed = await post(hub.url, `rollouts/${rolloutId}/resume`, {});
      expect(resumed.state).not.toBe('Paused');
    }
    // The hub that drives the rollout is the one killed; the other must take it over.
    const driver = await eventually(
      'the hub driving the rollout',
      leaseHolder,
      (h) => h !== undefined,
    );
    const a = hubs.find((h) => h.name === driver)!;
    const b = hubs.find((h) => h.name !== driver)!;
    survivorName = b.name;
    const auditBefore = (await rollout(rolloutId, b.url)).audit;
    const deploymentsBefore = (await bundle(b.url)).deployments;

    // The NATS node leading the status stream, and hub a: gone at once, without a word.
    const nc = await connect({ servers: nats.url.split(',') });
    const leader = (
      await (await jetstreamManager(nc)).streams.info(statusStreamName(subjectPrefix))
    ).cluster?.leader;
    await nc.close();
    expect(leader).toBeDefined();
    const killedAt = Date.now();
    killHub(a);
    await Promise.all([a.exited, nats.kill(leader!)]);

    // The surviving hub answers its API the whole time (no request fails).
    const failures: string[] = [];
    let answered = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const path of ['clusters', `rollouts/${rolloutId}`, 'status']) {
          try {
            await get(b.url, path);
            answered++;
          } catch (err) {
            failures.push(`${path}: ${String(err)}`);
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      const done = await eventually(
        'the second rollout Succeeded on the surviving hub',
        () => rollout(rolloutId, b.url),
        (r) => r.state === 'Succeeded',
        { timeoutMs: 240_000, intervalMs: 250 },
      );
      expect(done.stages.flatMap((s: any) => s.clusters.map((c: any) => c.state))).toEqual(
        clusters.map(() => 'Succeeded'),
      );
      await eventually(
        'every cluster Ready at the new commit',
        () => bundle(b.url),
        convergedAt(head),
        {
          timeoutMs: 120_000,
          intervalMs: 250,
        },
      );
      await eventually(
        'every cluster Online and heartbeating after the kill',
        () => get(b.url, 'clusters'),
        (r) =>
          r.items.length === clusters.length &&
          r.items.every(
            (c: any) =>
              c.state === 'Online' &&
              c.lastSeen !== null &&
              new Date(c.lastSeen).getTime() > killedAt,
          ),
        { timeoutMs: 120_000, intervalMs: 250 },
      );
    } finally {
      polling = false;
      await poller;
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);

    expect(await leaseHolder()).toBe(b.name);

    // One rollout for the commit, its trail kept and every transition recorded once.
    const forHead = (await rolloutsOf(b.url)).filter((r) => r.toCommit === head);
    expect(forHead.map((r) => r.id)).toEqual([rolloutId]);
    const audit = (await rollout(rolloutId, b.url)).audit;
    expect(audit.slice(0, auditBefore.length)).toEqual(auditBefore);
    expect(audit.filter((e: any) => e.action === 'Created')).toHaveLength(1);
    expect(
      audit.filter(
        (e: any) => e.to === 'Succeeded' && e.cluster === undefined && e.stage === undefined,
      ),
    ).toHaveLength(1);
    expect(brokenChains(audit)).toEqual([]);
    expect((await rollout(firstRollout.id, b.url)).audit).toEqual(firstAudit);

    // No deployment lost: the same clusters, each at the new commit, none removed.
    const after = (await bundle(b.url)).deployments;
    expect(after.map((d: any) => d.cluster).sort()).toEqual(
      deploymentsBefore.map((d: any) => d.cluster).sort(),
    );
  }, 600_000);

  it("a sync asked for while another replica holds the GitRepo's sync lock runs once that replica is done", async () => {
    const survivor = hubs.find((h) => h.name === survivorName)!;
    // Another replica in the middle of a sync of `ring`, as far as the hub can tell.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      const { rows } = await other.query<{ at: Date }>(
        "SELECT pg_advisory_lock(hashtext('gitrepo:ring')), now() AS at",
      );
      const lockedAt = rows[0]!.at;
      head = await git.commit('ring', { 'app/app.yaml': app('3') });
      await post(survivor.url, 'gitrepos/ring/sync', {});
      await eventually(
        'the hub found the sync lock taken',
        () =>
          sql<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
              WHERE application_name = $1 AND query LIKE '%pg_try_advisory_lock%'
                AND state_change > $2`,
            [appName(survivor.name), lockedAt],
          ),
        (r) => Number(r[0]?.n) > 0,
      );
    } finally {
      await other.end();
    }
    // The lock is free (the other replica's sync ended): the commit asked for is synced.
    await eventually(
      'the GitRepo at the new commit',
      () => get(survivor.url, 'gitrepos/ring'),
      (r) => r.status?.commit === head,
    );
  });
});
