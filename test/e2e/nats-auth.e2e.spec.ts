import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, type User } from '@nats-io/jwt';
import {
  type NatsConnection,
  PermissionViolationError,
  connect,
  credsAuthenticator,
} from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { createSubjects, type Subjects } from '../../libs/contracts/index.js';
import { NATS_AUTH_FILES, NatsAuthority, readNatsAuthKeys } from '../../libs/nats-auth/index.js';
import { startNatsServer, type NatsServerHandle } from '../../libs/runtime/index.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { runCli, spawnCli } from '../support/cli.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// The hub against its own nats-server configured as README "NATS security" tells for an external
// NATS: keys from `nats-init`, the generated server configuration, FLOTILLA_NATS_AUTH_DIR.

const creds = (text: string) => credsAuthenticator(new TextEncoder().encode(text));

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {sim.flotilla.dev/ready-after: 100ms}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`;

interface Bootstrap {
  cluster: string;
  natsUrl: string;
  subjectPrefix: string;
  credentials: string;
  inboxPrefix: string;
}

const root = mkdtempSync(join(tmpdir(), 'flotilla-nats-auth-e2e-'));
const authDir = join(root, 'nats-auth');
let server: NatsServerHandle;
let authority: NatsAuthority;
let hub: TestHub;
let git: GitServer;
let subjects: Subjects;
const tokens = new Map<string, string>();
const agents: RunningAgent[] = [];
const connections: NatsConnection[] = [];

async function bootstrap(token: string, expected = 200): Promise<Bootstrap> {
  const res = await hub.api(token).post('/api/v1/agent/bootstrap').send({}).expect(expected);
  return res.body as Bootstrap;
}

/** A raw NATS connection with an agent's bootstrap answer, as the agent makes it. */
async function loginAs(boot: Bootstrap): Promise<NatsConnection> {
  const nc = await connect({
    servers: boot.natsUrl,
    authenticator: creds(boot.credentials),
    inboxPrefix: boot.inboxPrefix,
    reconnect: false,
  });
  connections.push(nc);
  return nc;
}

/** The first permission violation the connection reports for `subject`. */
async function violation(nc: NatsConnection, subject: string): Promise<PermissionViolationError> {
  for await (const status of nc.status()) {
    if (status.type === 'error' && status.error instanceof PermissionViolationError) {
      if (status.error.subject === subject) return status.error;
    }
  }
  throw new Error(`the connection closed without a permission violation for ${subject}`);
}

function startClusterAgent(cluster: string): Promise<RunningAgent> {
  return startAgent({
    hubUrl: hub.httpUrl,
    token: tokens.get(cluster)!,
    driver: new SimulatedCluster(),
    stateDir: mkdtempSync(join(root, `agent-${cluster}-`)),
    heartbeatIntervalMs: 300,
    logger: pino({ level: 'silent' }),
  }).then((agent) => {
    agents.push(agent);
    return agent;
  });
}

beforeAll(async () => {
  // As an operator of an external NATS does it: keys and server configuration from the CLI (the
  // resolver directory is relative to the server's working directory, its data dir here).
  const init = await runCli(['hub', 'nats-init', '--out', authDir]);
  expect(init).toMatchObject({ code: 0, stderr: '' });
  expect(init.stdout).toContain(NATS_AUTH_FILES.serverConfig);
  expect((await runCli(['hub', 'nats-init', '--out', authDir])).stderr).toMatch(
    /exists already; refusing to replace/,
  );
  authority = NatsAuthority.fromKeys(await readNatsAuthKeys(authDir));
  server = await startNatsServer({
    dataDir: join(root, 'nats-server'),
    configFile: join(authDir, NATS_AUTH_FILES.serverConfig),
    authenticator: creds(await authority.hubCredentials()),
  });
  hub = await startTestHub({
    heartbeatInterval: '300ms',
    env: { NATS_URL: server.url, FLOTILLA_NATS_AUTH_DIR: authDir },
  });
  subjects = createSubjects(hub.config.subjectPrefix);
  git = await startGitServer();
  const repo = await git.createRepo('fleet', { 'apps/web/deployment.yaml': deployment });
  for (const name of ['a', 'b']) {
    const res = await hub
      .api()
      .post('/api/v1/clusters')
      .send({ name, labels: { env: 'secure' } })
      .expect(201);
    tokens.set(name, res.body.token);
  }
  await hub
    .api()
    .post('/api/v1/gitrepos')
    .send({
      name: 'fleet',
      url: `file://${repo.bareDir}`,
      branch: 'main',
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=secure' }],
    })
    .expect(201);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  for (const nc of connections) if (!nc.isClosed()) await nc.close();
  await git?.stop();
  await hub?.stop();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('per-cluster NATS credentials (decentralized JWT auth)', () => {
  it('bootstrap hands each agent its own user, limited to its own subjects and inbox', async () => {
    const boot = await bootstrap(tokens.get('a')!);
    expect(boot.natsUrl).toBe(server.url);
    expect(boot.credentials).toMatch(
      /^-----BEGIN NATS USER JWT-----\n.+\n------END NATS USER JWT------\n[\s\S]*-----BEGIN USER NKEY SEED-----\nSU[A-Z2-7]+\n/,
    );
    expect(boot.inboxPrefix).toBe(subjects.agentInboxPrefix('a'));
    const jwt = decode<User>(boot.credentials.split('\n')[1]!);
    expect(jwt.iss).toBe(authority.accountPublicKey);
    expect(jwt.nats.pub?.allow).toEqual([subjects.agentPublishes('a')]);
    expect(jwt.nats.sub?.allow).toEqual([
      subjects.agentReceives('a'),
      `${subjects.agentInboxPrefix('a')}.>`,
    ]);
    // The same token gets the same user (every hub replica issues it), B another one.
    expect(decode((await bootstrap(tokens.get('a')!)).credentials.split('\n')[1]!).sub).toBe(
      jwt.sub,
    );
    expect(decode((await bootstrap(tokens.get('b')!)).credentials.split('\n')[1]!).sub).not.toBe(
      jwt.sub,
    );
  });

  it("agent A's credentials cannot subscribe to B's desired state nor publish B's status", async () => {
    const hubSide = await connect({
      servers: server.url,
      authenticator: creds(await authority.hubCredentials('test-observer')),
    });
    connections.push(hubSide);
    const seen: string[] = [];
    const spy = hubSide.subscribe(subjects.allStatus(), {
      callback: (_err, msg) => {
        seen.push(msg.subject);
      },
    });
    await hubSide.flush();

    const a = await loginAs(await bootstrap(tokens.get('a')!));
    const refusedSub = violation(a, subjects.desired('b'));
    const sub = a.subscribe(subjects.desired('b'));
    expect((await refusedSub).operation).toBe('subscription');
    expect(await sub.closed).toBeInstanceOf(PermissionViolationError);

    for (const subject of [subjects.allEvents(), `${subjects.agentInboxPrefix('b')}.>`]) {
      const refused = violation(a, subject);
      a.subscribe(subject);
      expect((await refused).operation).toBe('subscription');
    }

    const refusedPub = violation(a, subjects.status('b'));
    a.publish(subjects.status('b'), JSON.stringify({ forged: true }));
    expect((await refusedPub).operation).toBe('publish');

    // Its own status gets through; the forged one never reached the hub.
    a.publish(subjects.status('a'), JSON.stringify({ probe: true }));
    await a.flush();
    await eventually(
      'A status seen by the hub side',
      () => Promise.resolve(seen),
      (s) => s.includes(subjects.status('a')),
    );
    expect(seen).not.toContain(subjects.status('b'));
    spy.unsubscribe();
    await a.close();
  });

  it('agents run on their own credentials: both clusters Online and Ready', async () => {
    await startClusterAgent('a');
    await startClusterAgent('b');
    for (const name of ['a', 'b']) {
      await eventually(
        `${name} Online with web Ready`,
        async () => (await hub.api().get(`/api/v1/clusters/${name}`).expect(200)).body,
        (c) =>
          c.state === 'Online' &&
          c.deployments.length === 1 &&
          c.deployments[0].state === 'Ready' &&
          c.deployments[0].appliedRevision === c.deployments[0].desiredRevision,
      );
    }
  });

  it("rotating A's token revokes A's old credentials: disconnected and refused; the new token works", async () => {
    const old = await bootstrap(tokens.get('a')!);
    const before = await loginAs(old);
    await before.flush();

    const res = await hub.api().post('/api/v1/clusters/a/token').expect(200);
    expect(res.body.token).toMatch(/^fla_/);
    expect(res.body.token).not.toBe(tokens.get('a'));

    expect(await before.closed()).toBeInstanceOf(Error);
    await expect(loginAs(old)).rejects.toThrow(/Authorization Violation/i);
    await bootstrap(tokens.get('a')!, 401);

    const fresh = await bootstrap(res.body.token);
    const after = await loginAs(fresh);
    await after.flush();
    expect(after.isClosed()).toBe(false);
    await after.close();

    await hub.api().post('/api/v1/clusters/nowhere/token').expect(404);
  });

  it("deleting cluster B revokes B's credentials: disconnected and refused", async () => {
    const boot = await bootstrap(tokens.get('b')!);
    const nc = await loginAs(boot);
    await nc.flush();

    await hub.api().delete('/api/v1/clusters/b').expect(204);

    expect(await nc.closed()).toBeInstanceOf(Error);
    await expect(loginAs(boot)).rejects.toThrow(/Authorization Violation/i);
    await bootstrap(tokens.get('b')!, 401);
  });

  it('an agent started with --exit-on-revoke says once that its cluster was removed and exits with status 3', async () => {
    const res = await hub.api().post('/api/v1/clusters').send({ name: 'c' }).expect(201);
    const agent = spawnCli([
      'agent',
      '--hub',
      hub.httpUrl,
      '--token',
      res.body.token as string,
      '--simulate',
      '--state-dir',
      mkdtempSync(join(root, 'agent-c-')),
      '--heartbeat-interval',
      '300ms',
      '--exit-on-revoke',
    ]);
    try {
      await eventually(
        'cluster c Online',
        async () => (await hub.api().get('/api/v1/clusters/c').expect(200)).body,
        (c) => c.state === 'Online',
      );
      await hub.api().delete('/api/v1/clusters/c').expect(204);
      expect(await agent.exited).toBe(3);
      expect(agent.output().match(/removed from the hub/g)).toHaveLength(1);
    } finally {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    }
  });
});
