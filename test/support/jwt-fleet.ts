import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type NatsConnection, connect, credsAuthenticator } from '@nats-io/transport-node';
import { pino } from 'pino';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { createSubjects, type Subjects } from '../../libs/contracts/index.js';
import { NatsAuthority, type NatsAuthKeys } from '../../libs/nats-auth/index.js';
import { startNatsServer, type NatsServerHandle } from '../../libs/runtime/index.js';
import { type GitServer, startGitServer } from '../../libs/testing/index.js';
import { addFleetRepo, startTestHub, type TestHub } from './hub.js';

/** A NATS authenticator from the text of a `.creds` file. */
export const creds = (text: string) => credsAuthenticator(new TextEncoder().encode(text));

/** What `POST /api/v1/agent/bootstrap` answers an agent on a JWT-authenticated NATS. */
export interface AgentBootstrap {
  cluster: string;
  natsUrl: string;
  subjectPrefix: string;
  credentials: string;
  inboxPrefix: string;
}

/** The bundle `fleet/web` of {@link startJwtFleet}: a Deployment Ready after 100 ms. */
const WEB_DEPLOYMENT = `apiVersion: apps/v1
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

/** A hub on its own JWT-authenticated nats-server, with a Git repository and registered clusters. */
export interface JwtFleet {
  server: NatsServerHandle;
  authority: NatsAuthority;
  hub: TestHub;
  git: GitServer;
  subjects: Subjects;
  /** Each registered cluster's agent token. */
  tokens: Map<string, string>;
  /** The bootstrap answer for an agent token (`expected`: the HTTP status, default 200). */
  bootstrap(token: string, expected?: number): Promise<AgentBootstrap>;
  /** A raw NATS connection with a bootstrap answer, as the agent makes it (closed by stop()). */
  loginAs(boot: AgentBootstrap): Promise<NatsConnection>;
  /** A connection with the hub's account, as another hub-side user (closed by stop()). */
  hubSide(user: string): Promise<NatsConnection>;
  /** Starts cluster's agent on `driver` (default a new simulated cluster); stopped by stop(). */
  startClusterAgent(cluster: string, driver?: SimulatedCluster): Promise<RunningAgent>;
  stop(): Promise<void>;
}

/**
 * Starts nats-server with the JWT configuration of `authDir` (keys and server configuration, as
 * `flotilla hub nats-init` writes them) and a test hub on it (FLOTILLA_NATS_AUTH_DIR), registers
 * `clusters` with their labels, and adds the GitRepo `fleet` (`apps/web`: a Deployment, bundle
 * `fleet/web`) targeting `target`. Everything lives under `root`, removed by stop().
 */
export async function startJwtFleet(options: {
  root: string;
  authDir: string;
  keys: NatsAuthKeys;
  serverConfigFile: string;
  clusters: Record<string, Record<string, string>>;
  target: string;
}): Promise<JwtFleet> {
  const { root, authDir } = options;
  const authority = NatsAuthority.fromKeys(options.keys);
  const server = await startNatsServer({
    dataDir: join(root, 'nats-server'),
    configFile: options.serverConfigFile,
    authenticator: creds(await authority.hubCredentials()),
  });
  const hub = await startTestHub({
    heartbeatInterval: '300ms',
    env: { NATS_URL: server.url, FLOTILLA_NATS_AUTH_DIR: authDir },
  });
  const git = await startGitServer();
  const repo = await git.createRepo('fleet', { 'apps/web/deployment.yaml': WEB_DEPLOYMENT });
  const tokens = new Map<string, string>();
  for (const [name, labels] of Object.entries(options.clusters)) {
    const res = await hub.api().post('/api/v1/clusters').send({ name, labels }).expect(201);
    tokens.set(name, (res.body as { token: string }).token);
  }
  await addFleetRepo(hub, repo.bareDir, options.target);
  const agents: RunningAgent[] = [];
  const connections: NatsConnection[] = [];
  const keep = (nc: NatsConnection) => {
    connections.push(nc);
    return nc;
  };
  return {
    server,
    authority,
    hub,
    git,
    subjects: createSubjects(hub.config.subjectPrefix),
    tokens,
    bootstrap: async (token, expected = 200) =>
      (await hub.api(token).post('/api/v1/agent/bootstrap').send({}).expect(expected))
        .body as AgentBootstrap,
    loginAs: async (boot) =>
      keep(
        await connect({
          servers: boot.natsUrl,
          authenticator: creds(boot.credentials),
          inboxPrefix: boot.inboxPrefix,
          reconnect: false,
        }),
      ),
    hubSide: async (user) =>
      keep(
        await connect({
          servers: server.url,
          authenticator: creds(await authority.hubCredentials(user)),
        }),
      ),
    startClusterAgent: async (cluster, driver = new SimulatedCluster()) => {
      const agent = await startAgent({
        hubUrl: hub.httpUrl,
        token: tokens.get(cluster)!,
        driver,
        stateDir: mkdtempSync(join(root, `agent-${cluster}-`)),
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      });
      agents.push(agent);
      return agent;
    },
    stop: async () => {
      await Promise.all(agents.map((a) => a.stop()));
      for (const nc of connections) if (!nc.isClosed()) await nc.close();
      await git.stop();
      await hub.stop();
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
