import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuthorizationError,
  UserAuthenticationExpiredError,
  connect,
  credsAuthenticator,
  type NatsConnection,
} from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import {
  PayloadVerifier,
  HeartbeatSchema,
  TokenPrefix,
  createSubjects,
  flotillaVersion,
  type BootstrapResponse,
} from '../../libs/contracts/index.js';
import { isApplier, type ClusterDriver } from './cluster-driver.js';
import { Delivery } from './delivery.js';
import {
  HubError,
  backoffDelayMs,
  bootstrap,
  clusterNameFromHostname,
  register,
} from './hub-client.js';

/** Name of the file in the state directory that keeps the agent token. */
export const AGENT_TOKEN_FILE = 'agent-token';

/** Where the agent pins the hub's signing key at its first bootstrap. */
export const HUB_KEY_FILE = 'hub-public-key.pem';

/**
 * Trust on first use: the hub's public key from the first bootstrap is kept in the state dir,
 * and a later bootstrap naming another key is refused (someone may be impersonating the hub).
 * After an intentional key rotation, delete the file.
 */
export async function pinHubKey(stateDir: string, offered: string): Promise<string> {
  const file = join(stateDir, HUB_KEY_FILE);
  const pinned = await readFile(file, 'utf8').catch(() => undefined);
  if (pinned !== undefined) {
    if (pinned.trim() !== offered.trim()) {
      throw new HubError(
        `the hub offered a signing key that differs from the one pinned in ${file}; refusing to run (delete that file only if the hub's key was rotated on purpose)`,
        undefined,
      );
    }
    return pinned;
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, offered, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return offered;
}

/** Reported as the Kubernetes version when the cluster cannot be asked. */
export const UNKNOWN_KUBERNETES_VERSION = 'unknown';

/** How an agent is started. */
export interface AgentOptions {
  /** Base URL of the hub, e.g. `http://localhost:8080`. */
  hubUrl: string;
  /** An agent token (`fla_…`) or a registration token (`flr_…`, registers the cluster first). */
  token: string;
  /** The cluster the agent manages. Closed by `stop()` (not when `startAgent` rejects). */
  driver: ClusterDriver;
  /** Cluster name to register under; default: this host's name as a DNS label. */
  name?: string;
  /** Labels to register with. */
  labels?: Record<string, string>;
  /** Where the agent keeps its agent token across restarts; default `.flotilla-agent`. */
  stateDir?: string;
  /** Heartbeat interval; overrides the one the hub hands out at bootstrap. */
  heartbeatIntervalMs?: number;
  /** Default: `pino({ name: 'flotilla-agent' })`. */
  logger?: Logger;
  /** Aborts a `startAgent` that is still registering or bootstrapping (it then rejects). */
  signal?: AbortSignal;
  /**
   * Called once when the hub refuses the agent's token after it ran (HTTP 401: the cluster was
   * deleted or its token revoked). The agent goes on asking every `revokedRetryMs`; the CLI's
   * `--exit-on-revoke` stops it and exits non-zero instead.
   */
  onRevoked?: (err: HubError) => void;
  /** How often an agent the hub refused asks again; default 10 minutes. */
  revokedRetryMs?: number;
}

/** How often an agent the hub refused (cluster deleted, token revoked) asks again, by default. */
export const REVOKED_RETRY_MS = 10 * 60_000;

/** A started agent. */
export interface RunningAgent {
  /** The cluster name the hub knows this agent by. */
  readonly cluster: string;
  /** Stops heartbeats, drains the NATS connection and closes the driver; idempotent. */
  stop(): Promise<void>;
}

/** Longest heartbeat interval the hub accepts (see HeartbeatSchema). */
const MAX_INTERVAL_MS = 3_600_000;

/** How long `stop()` lets a NATS drain take before closing the connection outright. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * Starts an agent: registers the cluster when given a registration token (once; the agent token
 * is kept in `stateDir`), bootstraps at the hub (retrying while it is unreachable, rejecting when
 * it refuses the token), then connects to NATS in the background and heartbeats. When the driver
 * applies bundles (see `isApplier`) it also runs the {@link Delivery} loop: receives desired
 * state, resyncs on every (re)connect, applies, and reports status. Resolves once bootstrapped;
 * the NATS connection is retried forever, also when NATS is down at start.
 */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const logger = opts.logger ?? pino({ name: 'flotilla-agent' });
  const stateDir = opts.stateDir ?? '.flotilla-agent';
  const override = opts.heartbeatIntervalMs;
  if (
    override !== undefined &&
    !(Number.isInteger(override) && override > 0 && override <= MAX_INTERVAL_MS)
  ) {
    throw new Error(
      `heartbeatIntervalMs must be an integer from 1 to ${MAX_INTERVAL_MS}, not ${override}`,
    );
  }

  const { token, source } = await resolveAgentToken(opts, stateDir, logger);
  let boot: BootstrapResponse;
  try {
    boot = await bootstrap(opts.hubUrl, token, logger, opts.signal);
  } catch (err) {
    if (source === 'state' && err instanceof HubError && err.status === 401) {
      err.message += ` (token read from ${join(stateDir, AGENT_TOKEN_FILE)})`;
    }
    throw err;
  }
  const verifier = new PayloadVerifier(await pinHubKey(stateDir, boot.hubPublicKey));
  const intervalMs = Math.min(override ?? boot.heartbeatIntervalMs, MAX_INTERVAL_MS);
  const subjects = createSubjects(boot.subjectPrefix);
  const heartbeatSubject = subjects.heartbeat(boot.cluster);
  const log = logger.child({ cluster: boot.cluster });
  log.info(
    {
      natsUrl: boot.natsUrl,
      heartbeatIntervalMs: intervalMs,
      driver: opts.driver.kind,
      natsCredentials: boot.credentials !== undefined,
    },
    'bootstrapped at the hub',
  );
  const delivery = isApplier(opts.driver)
    ? new Delivery({ cluster: boot.cluster, subjects, applier: opts.driver, log, verifier })
    : undefined;
  if (delivery === undefined) {
    log.warn(
      { driver: opts.driver.kind },
      'this cluster driver does not apply bundles yet; the agent only heartbeats',
    );
  }
  // When NATS refuses its credentials, the agent asks the hub for new ones with the same token.
  const rebootstrap = (signal: AbortSignal) => bootstrap(opts.hubUrl, token, logger, signal);
  const revocation = {
    retryMs: opts.revokedRetryMs ?? REVOKED_RETRY_MS,
    onRevoked: opts.onRevoked,
  };
  return new Agent(
    boot,
    rebootstrap,
    heartbeatSubject,
    intervalMs,
    opts.driver,
    log,
    delivery,
    revocation,
  );
}

type TokenSource = 'state' | 'registered' | 'option';

async function resolveAgentToken(
  opts: AgentOptions,
  stateDir: string,
  logger: Logger,
): Promise<{ token: string; source: TokenSource }> {
  const file = join(stateDir, AGENT_TOKEN_FILE);
  const stored = await readStoredToken(file);
  if (stored !== undefined) {
    logger.info({ file }, 'using the agent token stored in the state directory');
    return { token: stored, source: 'state' };
  }
  if (!opts.token.startsWith(TokenPrefix.Registration)) {
    return { token: opts.token, source: 'option' };
  }
  const name = opts.name ?? clusterNameFromHostname(hostname());
  const labels = opts.labels ?? {};
  logger.info({ name, labels }, 'registering this cluster at the hub');
  const answer = await register(opts.hubUrl, opts.token, name, labels, logger, opts.signal);
  await storeToken(stateDir, file, answer.token);
  logger.info({ cluster: answer.cluster.name, file }, 'registered; agent token stored');
  return { token: answer.token, source: 'registered' };
}

async function readStoredToken(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the agent token file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const token = text.trim();
  if (token === '')
    throw new Error(`the agent token file ${file} is empty; remove it to register again`);
  return token;
}

/** Writes the token atomically, readable by the owner only. */
async function storeToken(stateDir: string, file: string, token: string): Promise<void> {
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${token}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    throw new Error(
      `registered, but cannot store the agent token in ${file}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Heartbeats over one NATS connection that is re-established for as long as the agent runs, and
 * runs the delivery loop on it when the driver applies bundles.
 */
class Agent implements RunningAgent {
  readonly cluster: string;
  private readonly agentVersion = flotillaVersion();
  private readonly stopController = new AbortController();
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private nc: NatsConnection | undefined;
  private connected = false;
  private readonly natsLoop: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private beatAgain = false;
  /** The hub refused the token (401): said once, then asked again every `revocation.retryMs`. */
  private revoked = false;

  constructor(
    /** Updated when NATS refuses the credentials and the hub hands out new ones. */
    private boot: BootstrapResponse,
    private readonly rebootstrap: (signal: AbortSignal) => Promise<BootstrapResponse>,
    private readonly heartbeatSubject: string,
    private readonly intervalMs: number,
    private readonly driver: ClusterDriver,
    private readonly log: Logger,
    private readonly delivery: Delivery | undefined,
    private readonly revocation: { retryMs: number; onRevoked?: (err: HubError) => void },
  ) {
    this.cluster = boot.cluster;
    this.natsLoop = this.runNats().catch((err: unknown) => {
      this.log.error({ err }, 'NATS connection loop failed');
    });
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.delivery?.stop();
    const nc = this.nc;
    if (nc !== undefined && !nc.isClosed()) {
      await this.closeConnection(nc);
    }
    await this.natsLoop;
    try {
      await this.driver.close();
    } catch (err) {
      this.log.warn({ err }, 'closing the cluster driver failed');
    }
    this.log.info('agent stopped');
  }

  private async closeConnection(nc: NatsConnection): Promise<void> {
    try {
      if (this.connected) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('drain timed out')), DRAIN_TIMEOUT_MS);
        });
        try {
          await Promise.race([nc.drain(), timeout]);
        } finally {
          clearTimeout(timer);
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'draining the NATS connection failed; closing it');
    }
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }

  /** Connects, waits for the connection to end for good, and starts over unless stopping. */
  private async runNats(): Promise<void> {
    for (let attempt = 0; !this.stopping;) {
      const servers = this.boot.natsUrl
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers,
          name: `flotilla-agent/${this.cluster}`,
          // This cluster's own NATS user, when the hub's NATS authenticates: it may receive
          // replies only under its inbox prefix.
          authenticator:
            this.boot.credentials === undefined
              ? undefined
              : credsAuthenticator(new TextEncoder().encode(this.boot.credentials)),
          inboxPrefix: this.boot.inboxPrefix,
          reconnect: true,
          maxReconnectAttempts: -1,
          waitOnFirstConnect: true,
          reconnectTimeWait: 2_000,
          reconnectJitter: 2_000,
          pingInterval: 20_000,
          maxPingOut: 3,
          // Called before every dial: the only way to end a first connect that never succeeds.
          reconnectToServer: () => {
            if (this.stopping) throw new Error('agent stopped');
            return null;
          },
        });
      } catch (err) {
        if (this.stopping) return;
        if (isAuthError(err)) await this.refreshCredentials();
        const delayMs = this.retryDelayMs(attempt++);
        this.log[this.revoked ? 'debug' : 'error'](
          { err, retryInMs: delayMs },
          'cannot connect to NATS',
        );
        await this.pause(delayMs);
        continue;
      }
      if (this.stopping) {
        await nc.close().catch(() => undefined);
        return;
      }
      attempt = 0;
      this.nc = nc;
      this.connected = true;
      this.log.info({ server: nc.getServer() }, 'connected to NATS');
      this.watchStatus(nc);
      this.delivery?.attach(nc);
      this.heartbeatNow();
      const err = await nc.closed();
      this.connected = false;
      this.nc = undefined;
      if (this.stopping) return;
      if (isAuthError(err)) await this.refreshCredentials();
      const delayMs = this.retryDelayMs(attempt++);
      this.log[this.revoked ? 'debug' : 'error'](
        { err, retryInMs: delayMs },
        'NATS connection closed; connecting again',
      );
      await this.pause(delayMs);
    }
  }

  /**
   * NATS refused this agent's credentials: they were revoked (the agent token was rotated or the
   * cluster deleted), or the hub's NATS keys changed. Bootstraps again with the same token: new
   * credentials in the second case, a clear error from the hub in the first.
   */
  private async refreshCredentials(): Promise<void> {
    try {
      const boot = await this.rebootstrap(this.stopController.signal);
      if (boot.cluster !== this.cluster) {
        throw new HubError(
          `the hub now names this agent's cluster "${boot.cluster}", not "${this.cluster}"`,
          undefined,
        );
      }
      this.boot = {
        ...this.boot,
        natsUrl: boot.natsUrl,
        credentials: boot.credentials,
        inboxPrefix: boot.inboxPrefix,
      };
      this.log.info('NATS refused the credentials; the hub handed out new ones');
      if (this.revoked) this.log.info('the hub accepts this agent again');
      this.revoked = false;
    } catch (err) {
      if (this.stopping) return;
      if (err instanceof HubError && err.status === 401) {
        if (this.revoked) return;
        this.revoked = true;
        this.log.error(
          { reason: err.message, retryInMs: this.revocation.retryMs },
          'this cluster was removed from the hub (deleted, or its agent token revoked); asking again at a long interval',
        );
        this.revocation.onRevoked?.(err);
        return;
      }
      this.log.error(
        { err },
        'NATS refused the credentials and the hub gave no new ones (was the agent token rotated, or the cluster deleted?)',
      );
    }
  }

  /** Backoff between NATS connects; the long revocation interval once the hub refused the token. */
  private retryDelayMs(attempt: number): number {
    return this.revoked ? this.revocation.retryMs : backoffDelayMs(attempt, 1_000, 30_000);
  }

  private watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          this.connected = false;
          if (!this.stopping) this.log.warn({ server: status.server }, 'disconnected from NATS');
        } else if (status.type === 'reconnect') {
          this.connected = true;
          this.log.info({ server: status.server }, 'reconnected to NATS');
          this.heartbeatNow();
          this.delivery?.resync();
        } else if (status.type === 'error') {
          this.log.warn({ err: status.error }, 'NATS error');
        }
      }
    })().catch((err: unknown) => {
      this.log.warn({ err }, 'watching the NATS connection status failed');
    });
  }

  /**
   * Sends a heartbeat now and restarts the interval after it. At most one heartbeat is in
   * flight; a request during one makes another follow right after it.
   */
  private heartbeatNow(): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.beating !== undefined) {
      this.beatAgain = true;
      return;
    }
    this.beating = this.sendHeartbeat()
      .catch((err: unknown) => {
        this.log.error({ err }, 'sending a heartbeat failed');
      })
      .finally(() => {
        this.beating = undefined;
        if (this.stopping) return;
        if (this.beatAgain) {
          this.beatAgain = false;
          this.heartbeatNow();
        } else {
          this.timer = setTimeout(() => this.heartbeatNow(), this.intervalMs);
        }
      });
  }

  private async sendHeartbeat(): Promise<void> {
    if (!this.connected) return;
    let kubernetesVersion: string;
    try {
      kubernetesVersion = (await this.driver.kubernetesVersion()).slice(0, 100);
    } catch (err) {
      this.log.warn({ err }, 'cannot get the Kubernetes version; reporting "unknown"');
      kubernetesVersion = UNKNOWN_KUBERNETES_VERSION;
    }
    const nc = this.nc;
    // Heartbeats are not buffered while disconnected: a stale one is worse than none.
    if (nc === undefined || !this.connected || this.stopping) return;
    const heartbeat = HeartbeatSchema.parse({
      cluster: this.cluster,
      agentVersion: this.agentVersion,
      kubernetesVersion,
      intervalMs: this.intervalMs,
      sentAt: new Date().toISOString(),
    });
    nc.publish(this.heartbeatSubject, JSON.stringify(heartbeat));
    this.log.debug({ kubernetesVersion }, 'heartbeat sent');
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopController.signal }).catch(() => undefined);
  }
}

/** Whether NATS refused the connection's credentials (unknown, revoked or expired user). */
export function isAuthError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof AuthorizationError || e instanceof UserAuthenticationExpiredError) return true;
    if (/authorization violation|authentication (revoked|expired)/i.test(e.message)) return true;
  }
  return false;
}
