import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { NatsAuthority, generateNatsAuth, type NatsAuthKeys } from './authority.js';
import { natsServerConfig } from './server-config.js';

/**
 * The files of a NATS auth directory (`flotilla hub nats-init --out DIR`, or
 * `<dataDir>/nats-auth` for the embedded nats-server).
 */
export const NATS_AUTH_FILES = {
  /** The hub's keys (secret, mode 0600); the hub reads only this file. */
  keys: 'hub-keys.json',
  /** The nats-server configuration (operator, system account, resolver): public. */
  serverConfig: 'nats-server.conf',
  /** The operator's identity seed (secret, mode 0600): keep it offline; the hub never needs it. */
  operatorSeed: 'operator.nk',
} as const;

const seed = z.string().regex(/^S[OA][A-Z2-7]{56}$/, 'must be an nkey seed');
const KeysFileSchema = z.object({
  version: z.literal(1),
  operatorSigningSeed: seed,
  systemAccountSeed: seed,
  accountSeed: seed,
});

/** A NATS auth directory that exists (or was just created). */
export interface NatsAuthDir {
  dir: string;
  keys: NatsAuthKeys;
  /** Path of the nats-server configuration. */
  serverConfigFile: string;
  /** Whether this call generated the keys. */
  created: boolean;
}

/**
 * Generates new keys into `dir` (created with mode 0700): the hub's keys, the operator seed, and
 * the nats-server configuration whose resolver keeps account JWTs in `resolverDir`. Refuses to
 * replace keys that exist: agents' credentials and the servers' trust depend on them.
 */
export async function initNatsAuthDir(dir: string, resolverDir: string): Promise<NatsAuthDir> {
  const keysFile = join(dir, NATS_AUTH_FILES.keys);
  if (await exists(keysFile)) {
    throw new Error(`${keysFile} exists already; refusing to replace the NATS keys in ${dir}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const generated = await generateNatsAuth();
  const serverConfigFile = join(dir, NATS_AUTH_FILES.serverConfig);
  await writeAtomically(
    serverConfigFile,
    natsServerConfig({
      operatorJwt: generated.operatorJwt,
      systemAccountPublicKey: generated.systemAccountPublicKey,
      accountJwts: generated.accountJwts,
      resolverDir,
    }),
    0o644,
  );
  await writeAtomically(
    join(dir, NATS_AUTH_FILES.operatorSeed),
    `${generated.operatorSeed}\n`,
    0o600,
  );
  // Last: its presence means the directory is complete.
  await writeAtomically(
    keysFile,
    `${JSON.stringify({ version: 1, ...generated.keys }, null, 2)}\n`,
    0o600,
  );
  return { dir, keys: generated.keys, serverConfigFile, created: true };
}

/**
 * The NATS auth directory of the embedded nats-server: read when it exists, generated at the
 * first start otherwise (so agents' credentials and revocations survive restarts).
 */
export async function ensureNatsAuthDir(dir: string, resolverDir: string): Promise<NatsAuthDir> {
  if (!(await exists(join(dir, NATS_AUTH_FILES.keys)))) return initNatsAuthDir(dir, resolverDir);
  const serverConfigFile = join(dir, NATS_AUTH_FILES.serverConfig);
  if (!(await exists(serverConfigFile))) {
    throw new Error(
      `${serverConfigFile} is missing next to ${NATS_AUTH_FILES.keys}; restore it, or remove ${dir} to start over with new NATS keys (agents then bootstrap again)`,
    );
  }
  return { dir, keys: await readNatsAuthKeys(dir), serverConfigFile, created: false };
}

/** The hub's keys from `<dir>/hub-keys.json`, checked. */
export async function readNatsAuthKeys(dir: string): Promise<NatsAuthKeys> {
  const file = join(dir, NATS_AUTH_FILES.keys);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the NATS keys ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = KeysFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid NATS keys in ${file}: ${problems.join('; ')}`);
  }
  const keys: NatsAuthKeys = {
    operatorSigningSeed: parsed.data.operatorSigningSeed,
    systemAccountSeed: parsed.data.systemAccountSeed,
    accountSeed: parsed.data.accountSeed,
  };
  try {
    NatsAuthority.fromKeys(keys);
  } catch (err) {
    throw new Error(`invalid NATS keys in ${file}: ${(err as Error).message}`, { cause: err });
  }
  return keys;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

/** Writes through a temporary file, so a crash never leaves half a file; `mode` even under umask. */
async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode, flag: 'wx' });
  await chmod(tmp, mode);
  await rename(tmp, file);
}
