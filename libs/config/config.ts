import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { SECRET_KEY_FORMAT, Secret, isValidSecretKey, parseSecretKey } from '../secrets/index.js';
import { parseDuration } from './duration.js';

/** Hub configuration, read from the environment (see README "Configuration"). */
export interface HubConfig {
  /** PostgreSQL URL; undefined = start an embedded PostgreSQL in dataDir. */
  databaseUrl: string | undefined;
  /** NATS URL for the hub; undefined = start a local nats-server in dataDir. */
  natsUrl: string | undefined;
  /** NATS URL handed to agents at bootstrap (defaults to natsUrl). */
  agentNatsUrl: string | undefined;
  /**
   * FLOTILLA_NATS_AUTH_DIR: the NATS auth directory (`flotilla hub nats-init`) whose keys the hub
   * signs NATS users with. Unset: `<dataDir>/nats-auth` for the embedded nats-server; with
   * NATS_URL, no NATS authentication (agents are not isolated from each other).
   */
  natsAuthDir: string | undefined;
  /**
   * FLOTILLA_NATS_REPLICAS: the replica count of every JetStream stream and consumer the hub
   * creates (default 1; 3 on a three-node NATS cluster). At most 5, as JetStream allows.
   */
  natsReplicas: number;
  /**
   * FLOTILLA_DB_POOL: PostgreSQL connections of the hub's main pool (status ingest, delivery,
   * rollouts, the resolver); default 10.
   */
  dbPoolSize: number;
  /**
   * FLOTILLA_API_DB_POOL: PostgreSQL connections of the api service's own pool (REST and gRPC
   * reads and writes), apart from the main pool so that API calls never queue behind ingest and
   * delivery writes; default 4.
   */
  apiDbPoolSize: number;
  port: number;
  grpcPort: number;
  /** Bind address for HTTP and gRPC. */
  host: string;
  dataDir: string;
  /** Put in front of every NATS subject; empty in production, unique per test run. */
  subjectPrefix: string;
  /** Interval agents are told to heartbeat at. */
  heartbeatIntervalMs: number;
  /**
   * A registration token the hub accepts without expiry or use limit (docker-compose, scripted
   * setups); unset in most installations, which create tokens through the API.
   */
  presetRegistrationToken: string | undefined;
  /**
   * FLOTILLA_FILE_URL_ROOT: the one directory (absolute) `file://` GitRepos may read from, with
   * symbolic links followed; undefined = `file://` GitRepos are refused. `npm start`, `flotilla
   * dev` and the demo set it to a directory in their data directory; unset by default and in the
   * Helm chart.
   */
  fileUrlRoot: string | undefined;
  /**
   * FLOTILLA_GIT_MAX_BYTES: the most one Git transfer may bring (default 256 MiB); a fetch past
   * it is stopped while streaming and shown as the GitRepo's error.
   */
  gitMaxBytes: number;
  /**
   * The bootstrap admin API token (FLOTILLA_ADMIN_TOKEN). Unset: one is generated at first start
   * and printed once.
   */
  adminToken: string | undefined;
  /**
   * FLOTILLA_INSECURE_DISABLE_AUTH=true: the API answers everyone as an admin. For throw-away
   * local setups only; the hub says so loudly at start.
   */
  authDisabled: boolean;
  /**
   * The key secrets are encrypted with at rest (FLOTILLA_SECRET_KEY: 32 bytes as 64 hex digits or
   * base64). Unset: `<dataDir>/secret.key`, generated at first start. Replicas must share it.
   */
  secretKey: Secret<Buffer> | undefined;
  /**
   * FLOTILLA_LOG_FORMAT: `json` (pino, one object per line) or `text` (Nest's console format).
   * Unset: JSON when standard output is not a terminal (containers, log collectors).
   */
  logFormat: 'json' | 'text' | undefined;
  /**
   * FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE=true: notifications may go to loopback and private
   * addresses (refused by default: SSRF).
   */
  notificationsAllowPrivate: boolean;
}

const port = z.coerce.number().int().min(0).max(65535);

const BYTE_SIZE = /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/;

/** Parses a size such as `1048576`, `512KiB`, `256MiB`, `2GiB` into bytes. */
export function parseByteSize(text: string): number {
  const m = BYTE_SIZE.exec(text);
  if (!m) throw new Error(`invalid size "${text}" (use e.g. 1048576, 512KiB, 256MiB, 2GiB)`);
  const factor = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2] ?? 'B'] ?? 1;
  return Number(m[1]) * factor;
}

/** A pool size: a whole number from 1 to 100, `fallback` when unset or empty. */
const poolSize = (fallback: string) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^([1-9][0-9]?|100)$/, 'must be a whole number of connections from 1 to 100')
      .default(fallback)
      .transform(Number),
  );

const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  NATS_URL: z.string().min(1).optional(),
  FLOTILLA_AGENT_NATS_URL: z.string().min(1).optional(),
  FLOTILLA_NATS_AUTH_DIR: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  FLOTILLA_NATS_REPLICAS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^[1-5]$/, 'must be a whole number from 1 to 5 (3 for a three-node NATS cluster)')
      .default('1')
      .transform(Number),
  ),
  FLOTILLA_DB_POOL: poolSize('10'),
  FLOTILLA_API_DB_POOL: poolSize('4'),
  PORT: port.default(8080),
  GRPC_PORT: port.default(9090),
  HOST: z.string().min(1).default('0.0.0.0'),
  FLOTILLA_DATA_DIR: z.string().min(1).default('.flotilla'),
  FLOTILLA_SUBJECT_PREFIX: z.string().default(''),
  FLOTILLA_HEARTBEAT_INTERVAL: z.string().default('5s'),
  FLOTILLA_ALLOW_FILE_URLS: z.enum(['true', 'false', '1', '0', '']).default('false'),
  FLOTILLA_FILE_URL_ROOT: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  FLOTILLA_GIT_MAX_BYTES: z
    .string()
    .regex(BYTE_SIZE, 'must be a number of bytes, or of KiB, MiB or GiB (e.g. 256MiB)')
    .default('256MiB'),
  FLOTILLA_INSECURE_DISABLE_AUTH: z.enum(['true', 'false', '1', '0', '']).default('false'),
  FLOTILLA_LOG_FORMAT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.enum(['json', 'text']).optional(),
  ),
  // Empty counts as unset (docker-compose passes `${FLOTILLA_ADMIN_TOKEN:-}`).
  FLOTILLA_ADMIN_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(
        /^[A-Za-z0-9_.~+/=-]{20,512}$/,
        'must be 20 to 512 letters, digits or _.~+/=- (e.g. `openssl rand -hex 32`)',
      )
      .optional(),
  ),
  // Empty counts as unset. Never echoed: the message names only the expected format.
  FLOTILLA_SECRET_KEY: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().refine(isValidSecretKey, SECRET_KEY_FORMAT).optional(),
  ),
  FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0', '']).default('false'),
  FLOTILLA_REGISTRATION_TOKEN: z
    .string()
    .regex(
      /^flr_[A-Za-z0-9_-]{20,}$/,
      'must be flr_ followed by at least 20 letters, digits, - or _',
    )
    .optional(),
});

/**
 * The servers of a NATS URL setting: one URL, or several separated by commas (the members of a
 * NATS cluster, tried in turn), as agents read it too.
 */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Durations: one grammar for the environment, the API, the CLI and fleet.yaml. */
export { parseDuration } from './duration.js';

function isTrue(flag: string): boolean {
  return flag === 'true' || flag === '1';
}

/** Reads the hub configuration; throws one readable error naming every bad variable. */
export function loadHubConfig(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (isTrue(e.FLOTILLA_ALLOW_FILE_URLS) && e.FLOTILLA_FILE_URL_ROOT === undefined) {
    // It opened the whole disk (and /proc/self/cwd); the root names the one directory instead.
    throw new Error(
      'invalid configuration: FLOTILLA_ALLOW_FILE_URLS is replaced by FLOTILLA_FILE_URL_ROOT: set it to the directory file:// GitRepos may read from',
    );
  }
  const heartbeatIntervalMs = parseDuration(e.FLOTILLA_HEARTBEAT_INTERVAL);
  const gitMaxBytes = parseByteSize(e.FLOTILLA_GIT_MAX_BYTES);
  if (gitMaxBytes < 1)
    throw new Error('invalid configuration: FLOTILLA_GIT_MAX_BYTES must be positive');
  if (heartbeatIntervalMs <= 0) throw new Error('FLOTILLA_HEARTBEAT_INTERVAL must be positive');
  return {
    databaseUrl: e.DATABASE_URL,
    natsUrl: e.NATS_URL,
    agentNatsUrl: e.FLOTILLA_AGENT_NATS_URL ?? e.NATS_URL,
    natsAuthDir: e.FLOTILLA_NATS_AUTH_DIR,
    natsReplicas: e.FLOTILLA_NATS_REPLICAS,
    dbPoolSize: e.FLOTILLA_DB_POOL,
    apiDbPoolSize: e.FLOTILLA_API_DB_POOL,
    port: e.PORT,
    grpcPort: e.GRPC_PORT,
    host: e.HOST,
    dataDir: e.FLOTILLA_DATA_DIR,
    subjectPrefix: e.FLOTILLA_SUBJECT_PREFIX,
    heartbeatIntervalMs,
    presetRegistrationToken: e.FLOTILLA_REGISTRATION_TOKEN,
    gitMaxBytes,
    fileUrlRoot:
      e.FLOTILLA_FILE_URL_ROOT === undefined ? undefined : resolvePath(e.FLOTILLA_FILE_URL_ROOT),
    adminToken: e.FLOTILLA_ADMIN_TOKEN,
    authDisabled: isTrue(e.FLOTILLA_INSECURE_DISABLE_AUTH),
    logFormat: e.FLOTILLA_LOG_FORMAT,
    secretKey:
      e.FLOTILLA_SECRET_KEY === undefined
        ? undefined
        : new Secret(parseSecretKey(e.FLOTILLA_SECRET_KEY)),
    notificationsAllowPrivate: isTrue(e.FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE),
  };
}
