import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createConnection, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HeartbeatSchema,
  createSubjects,
  flotillaVersion,
  type Heartbeat,
} from '../../libs/contracts/index.js';
import { eventually, testNatsUrl, testSubjectPrefix } from '../../libs/testing/index.js';
import { generateSigningKeyPair } from '../../libs/contracts/signing.js';

/** The fake hub's signing key (public half). */
const hubKeyPem = generateSigningKeyPair().publicKeyPem;
import {
  AGENT_TOKEN_FILE,
  SIMULATED_KUBERNETES_VERSION,
  SimulatedCluster,
  startAgent,
  type ClusterDriver,
  type RunningAgent,
} from './index.js';

interface HubAnswer {
  status: number;
  body: unknown;
}

interface HubRequest {
  path: string | undefined;
  auth: string | undefined;
  body: unknown;
}

/** A stand-in for the hub that serves only the two agent endpoints. */
class FakeHub {
  readonly requests: HubRequest[] = [];
  bootstrap: (token: string) => HubAnswer = () => ({ status: 500, body: {} });
  register: (token: string, body: unknown) => HubAnswer = () => ({ status: 500, body: {} });
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const auth = req.headers.authorization;
        this.requests.push({ path: req.url, auth, body });
        const token = auth?.replace(/^Bearer /, '') ?? '';
        const answer =
          req.method === 'POST' && req.url === '/api/v1/agent/bootstrap'
            ? this.bootstrap(token)
            : req.method === 'POST' && req.url === '/api/v1/agent/register'
              ? this.register(token, body)
              : { status: 404, body: { statusCode: 404, error: 'Not Found', message: 'no route' } };
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

function unauthorized(message: string): HubAnswer {
  return { status: 401, body: { statusCode: 401, error: 'Unauthorized', message } };
}

/** A logger that keeps every line, to look into (and to check that no token is logged). */
function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

/** Collects the heartbeats published on one subject. */
async function collectHeartbeats(nc: NatsConnection, subject: string): Promise<Heartbeat[]> {
  const received: Heartbeat[] = [];
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err) received.push(HeartbeatSchema.parse(msg.json()));
    },
  });
  await nc.flush();
  return received;
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A nats-server of our own, which the test can kill and restart. */
class OwnNatsServer {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(this.port)], {
      stdio: 'ignore',
    });
    await eventually(`nats-server on port ${this.port}`, () => canConnect(this.port), Boolean);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

describe('agent', () => {
  let hub: FakeHub;
  let stateDir: string;
  const cleanups: (() => Promise<unknown>)[] = [];
  const agents: RunningAgent[] = [];

  beforeEach(async () => {
    hub = new FakeHub();
    await hub.listen();
    stateDir = await mkdtemp(join(tmpdir(), 'flotilla-agent-'));
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await hub.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function natsClient(servers = testNatsUrl()): Promise<NatsConnection> {
    const nc = await connect({
      servers,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
      reconnectJitter: 10,
      waitOnFirstConnect: true,
    });
    cleanups.push(() => nc.close());
    return nc;
  }

  async function start(
    options: Partial<Parameters<typeof startAgent>[0]> & { token: string },
  ): Promise<RunningAgent> {
    const agent = await startAgent({
      hubUrl: hub.url,
      driver: new SimulatedCluster(),
      stateDir,
      logger: pino({ level: 'silent' }),
      ...options,
    });
    agents.push(agent);
    return agent;
  }

  function serveBootstrap(
    clusters: Record<string, string>,
    prefix: string,
    natsUrl = testNatsUrl(),
    heartbeatIntervalMs = 100,
  ): void {
    hub.bootstrap = (token) => {
      const cluster = clusters[token];
      return cluster === undefined
        ? unauthorized('unknown or revoked agent token')
        : {
            status: 200,
            body: {
              cluster,
              natsUrl,
              subjectPrefix: prefix,
              heartbeatIntervalMs,
              hubPublicKey: hubKeyPem,
            },
          };
    };
  }

  it('heartbeats repeatedly with the cluster, versions and the hub-given interval; stop() ends them', async () => {
    const prefix = testSubjectPrefix();
    serveBootstrap({ fla_one: 'eu-1' }, prefix);
    const nc = await natsClient();
    const beats = await collectHeartbeats(nc, createSubjects(prefix).heartbeat('eu-1'));

    const agent = await start({ token: 'fla_one' });
    expect(agent.cluster).toBe('eu-1');
    await eventually(
      'three heartbeats',
      () => beats.length,
      (n) => n >= 3,
    );

    for (const beat of beats) {
      expect(beat).toMatchObject({
        cluster: 'eu-1',
        agentVersion: flotillaVersion(),
        kubernetesVersion: SIMULATED_KUBERNETES_VERSION,
        intervalMs: 100,
      });
    }
    const times = beats.map((b) => Date.parse(b.sentAt));
    for (let i = 1; i < times.length; i++) {
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(90);
    }
    expect(hub.requests[0]).toEqual({
      path: '/api/v1/agent/bootstrap',
      auth: 'Bearer fla_one',
      body: {},
    });

    await agent.stop();
    await agent.stop();
    const after = beats.length;
    // A quiet period of five intervals: nothing may arrive after stop().
    await new Promise((resolve) => setTimeout(resolve, 500));
    await nc.flush();
    expect(beats.length).toBe(after);
  });

  it('reports "unknown" when the cluster cannot tell its version, and keeps heartbeating', async () => {
    const prefix = testSubjectPrefix();
    serveBootstrap({ fla_two: 'broken' }, prefix);
    const nc = await natsClient();
    const beats = await collectHeartbeats(nc, createSubjects(prefix).heartbeat('broken'));
    let closed = 0;
    const driver: ClusterDriver = {
      kind: 'kubernetes',
      kubernetesVersion: () => Promise.reject(new Error('API server unreachable')),
      close: () => {
        closed++;
        return Promise.resolve();
      },
    };
    const agent = await start({ token: 'fla_two', driver, heartbeatIntervalMs: 50 });
    await eventually(
      'two heartbeats',
      () => beats.length,
      (n) => n >= 2,
    );
    expect(beats.every((b) => b.kubernetesVersion === 'unknown' && b.intervalMs === 50)).toBe(true);
    await agent.stop();
    await agent.stop();
    expect(closed).toBe(1);
  });

  it('rejects at once with the hub message when the hub refuses the token', async () => {
    serveBootstrap({}, testSubjectPrefix());
    await expect(start({ token: 'fla_revoked' })).rejects.toThrow(
      /401 Unauthorized .*: unknown or revoked agent token$/,
    );
    expect(hub.count('/api/v1/agent/bootstrap')).toBe(1);
  });

  it('keeps retrying the bootstrap while the hub answers 503, then starts', async () => {
    const prefix = testSubjectPrefix();
    serveBootstrap({ fla_three: 'retry-1' }, prefix);
    const ready = hub.bootstrap;
    let unavailable = 3;
    hub.bootstrap = (token) =>
      unavailable-- > 0
        ? {
            status: 503,
            body: { statusCode: 503, error: 'Service Unavailable', message: 'starting' },
          }
        : ready(token);
    const nc = await natsClient();
    const beats = await collectHeartbeats(nc, createSubjects(prefix).heartbeat('retry-1'));

    const agent = await start({ token: 'fla_three' });
    expect(agent.cluster).toBe('retry-1');
    expect(hub.count('/api/v1/agent/bootstrap')).toBe(4);
    await eventually(
      'a heartbeat',
      () => beats.length,
      (n) => n >= 1,
    );
  });

  it('registers once with a registration token, stores the agent token, and reuses it', async () => {
    const prefix = testSubjectPrefix();
    serveBootstrap({ fla_issued: 'edge-7' }, prefix);
    hub.register = (token, body) =>
      token === 'flr_secret'
        ? { status: 201, body: { cluster: body, token: 'fla_issued' } }
        : unauthorized('invalid registration token');
    const nc = await natsClient();
    const beats = await collectHeartbeats(nc, createSubjects(prefix).heartbeat('edge-7'));
    const { logger, lines } = memoryLogger();

    const first = await start({
      token: 'flr_secret',
      name: 'edge-7',
      labels: { env: 'prod' },
      logger,
    });
    expect(first.cluster).toBe('edge-7');
    const registrations = hub.requests.filter((r) => r.path === '/api/v1/agent/register');
    expect(registrations).toEqual([
      {
        path: '/api/v1/agent/register',
        auth: 'Bearer flr_secret',
        body: { name: 'edge-7', labels: { env: 'prod' } },
      },
    ]);
    const file = join(stateDir, AGENT_TOKEN_FILE);
    expect((await readFile(file, 'utf8')).trim()).toBe('fla_issued');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await eventually(
      'a heartbeat',
      () => beats.length,
      (n) => n >= 1,
    );
    await first.stop();

    const second = await start({ token: 'flr_secret', name: 'edge-7', logger });
    expect(second.cluster).toBe('edge-7');
    expect(hub.count('/api/v1/agent/register')).toBe(1);
    expect(hub.requests.at(-1)?.auth).toBe('Bearer fla_issued');
    await second.stop();

    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toMatch(/fla_issued|flr_secret/);
  });

  it('fails the registration with the hub message when the name is taken', async () => {
    hub.register = () => ({
      status: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'cluster "taken" already exists' },
    });
    await expect(start({ token: 'flr_x', name: 'taken' })).rejects.toThrow(
      /409 Conflict .*: cluster "taken" already exists$/,
    );
    await expect(stat(join(stateDir, AGENT_TOKEN_FILE))).rejects.toThrow(/ENOENT/);
  });

  it('heartbeats again right after NATS comes back, and periodically after that', async () => {
    const server = new OwnNatsServer(await freePort());
    cleanups.push(() => server.kill());
    await server.start();
    const prefix = testSubjectPrefix();
    const subjects = createSubjects(prefix);
    serveBootstrap({ fla_slow: 'slow', fla_fast: 'fast' }, prefix, server.url);
    const nc = await natsClient(server.url);
    const slowBeats = await collectHeartbeats(nc, subjects.heartbeat('slow'));
    const fastBeats = await collectHeartbeats(nc, subjects.heartbeat('fast'));
    const { logger, lines } = memoryLogger();

    // A long interval: every heartbeat of "slow" is one sent on (re)connecting.
    await start({ token: 'fla_slow', heartbeatIntervalMs: 60_000, logger });
    await start({ token: 'fla_fast', heartbeatIntervalMs: 100 });
    await eventually(
      'first heartbeats',
      () => [slowBeats.length, fastBeats.length],
      ([s, f]) => {
        return s === 1 && f! >= 2;
      },
    );

    await server.kill();
    await eventually(
      'the agent noticing the disconnect',
      () => lines.some((l) => l.includes('disconnected from NATS')),
      Boolean,
    );
    // The agent's first reconnect attempt has failed; its next is at least 2 s away, so our
    // subscriber (reconnecting every 50 ms) is back before it.
    await server.start();
    await eventually('the test subscriber back', () => nc.flush().then(() => true), Boolean);
    const fastBefore = fastBeats.length;
    await eventually(
      'a heartbeat right after reconnecting',
      () => slowBeats.length,
      (n) => n === 2,
    );
    await eventually(
      'periodic heartbeats again',
      () => fastBeats.length,
      (n) => n >= fastBefore + 3,
    );
    expect(lines.some((l) => l.includes('reconnected to NATS'))).toBe(true);
  });

  it('keeps trying while NATS is down at start, and stop() ends the attempts', async () => {
    const server = new OwnNatsServer(await freePort());
    cleanups.push(() => server.kill());
    const prefix = testSubjectPrefix();
    serveBootstrap({ fla_early: 'early', fla_never: 'never' }, prefix, server.url);

    const early = await start({ token: 'fla_early', heartbeatIntervalMs: 100 });
    const never = await start({ token: 'fla_never', heartbeatIntervalMs: 100 });
    expect(early.cluster).toBe('early');
    await never.stop();

    await server.start();
    const nc = await natsClient(server.url);
    const beats = await collectHeartbeats(nc, createSubjects(prefix).heartbeat('early'));
    await eventually(
      'heartbeats once NATS is up',
      () => beats.length,
      (n) => n >= 2,
    );
  });
  it('asks the hub again where NATS is when it stays unreachable, and reconnects where the hub says, without a restart', async () => {
    const first = new OwnNatsServer(await freePort());
    const moved = new OwnNatsServer(await freePort());
    cleanups.push(
      () => first.kill(),
      () => moved.kill(),
    );
    await first.start();
    const prefix = testSubjectPrefix();
    const subject = createSubjects(prefix).heartbeat('roamer');
    serveBootstrap({ fla_roam: 'roamer' }, prefix, first.url);
    const beatsOnFirst = await collectHeartbeats(await natsClient(first.url), subject);
    const { logger, lines } = memoryLogger();

    await start({ token: 'fla_roam', logger, rediscoverAfterMs: 300 });
    await eventually(
      'heartbeats on the first server',
      () => beatsOnFirst.length,
      (n) => n >= 2,
    );
    const bootstrapsBefore = hub.count('/api/v1/agent/bootstrap');

    // The hub restarts, and its nats-server comes back on another port.
    await first.kill();
    await moved.start();
    serveBootstrap({ fla_roam: 'roamer' }, prefix, moved.url);
    const beatsOnMoved = await collectHeartbeats(await natsClient(moved.url), subject);
    await eventually(
      'heartbeats on the moved server',
      () => beatsOnMoved.length,
      (n) => n >= 2,
    );

    expect(hub.count('/api/v1/agent/bootstrap')).toBeGreaterThan(bootstrapsBefore);
    expect(
      lines.some((l) =>
        l.includes('the hub names other NATS connection details, connecting with them'),
      ),
    ).toBe(true);
    expect(lines.filter((l) => l.includes('bootstrapped at the hub'))).toHaveLength(1);
  });

  it('asks the hub again when NATS is unreachable from the start, and keeps trying the same NATS when the hub names it', async () => {
    const dead = new OwnNatsServer(await freePort());
    const live = new OwnNatsServer(await freePort());
    cleanups.push(
      () => dead.kill(),
      () => live.kill(),
    );
    const prefix = testSubjectPrefix();
    const subject = createSubjects(prefix).heartbeat('late');
    serveBootstrap({ fla_late: 'late' }, prefix, dead.url);
    const { logger, lines } = memoryLogger();

    await start({ token: 'fla_late', logger, rediscoverAfterMs: 200 });
    // The hub still names the dead server: the agent keeps trying it, asking again later.
    await eventually(
      'an ask that named the same NATS',
      () => lines.some((l) => l.includes('the hub names the same NATS, still trying it')),
      Boolean,
    );

    await live.start();
    serveBootstrap({ fla_late: 'late' }, prefix, live.url);
    const beats = await collectHeartbeats(await natsClient(live.url), subject);
    await eventually(
      'heartbeats on the server the hub names now',
      () => beats.length,
      (n) => n >= 2,
    );
  });

  it('does not ask the hub while NATS is reachable', async () => {
    const prefix = testSubjectPrefix();
    serveBootstrap({ fla_calm: 'calm' }, prefix);
    const beats = await collectHeartbeats(
      await natsClient(),
      createSubjects(prefix).heartbeat('calm'),
    );
    await start({ token: 'fla_calm', rediscoverAfterMs: 50 });
    await eventually(
      'ten heartbeats',
      () => beats.length,
      (n) => n >= 10,
    );
    expect(hub.count('/api/v1/agent/bootstrap')).toBe(1);
  });
});
