import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Authenticator, connect } from '@nats-io/transport-node';
import { findFreePort } from './free-port.js';
import { inspectProcess, isOrphan, tail, terminate } from './processes.js';
import { chooseRememberedPort, rememberPort } from './remembered-port.js';

/** A nats-server started by this process; `stop()` shuts it down (idempotent). */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  /**
   * Flotilla's data dir; JetStream stores in `<dataDir>/nats`, the log is
   * `<dataDir>/nats-server.log`, and the port is kept in `<dataDir>/nats-server.port`.
   */
  dataDir: string;
  /** Path of the nats-server binary; defaults to env NATS_SERVER_BIN, then PATH. */
  binary?: string;
  /** Receives our own progress lines and anything nats-server prints outside its log file. */
  log?: (line: string) => void;
  /**
   * Receives what the operator should know: the port of the last start was taken, a server left
   * running by an earlier run was stopped. Default: `log`.
   */
  notice?: (line: string) => void;
  /**
   * A configuration file to start with (`-c`), e.g. the NATS auth directory's
   * `nats-server.conf`; address, port, JetStream store and log stay as given here.
   */
  configFile?: string;
  /** How the readiness probe logs in, when the configuration requires authentication. */
  authenticator?: Authenticator;
}

/** nats-server could not be found; the message is one line that says how to get it. */
export class NatsServerNotFoundError extends Error {
  constructor(where: string) {
    super(
      `nats-server was not found ${where}; install it (Debian/Ubuntu: apt-get install nats-server, ` +
        `macOS: brew install nats-server) or set NATS_SERVER_BIN, or point NATS_URL at an existing NATS server`,
    );
    this.name = 'NatsServerNotFoundError';
  }
}

/** Where nats-server is looked for after PATH (Debian installs it in /usr/sbin, off most PATHs). */
export const NATS_SERVER_FALLBACK_PATHS: readonly string[] = [
  '/usr/sbin/nats-server',
  '/usr/local/bin/nats-server',
];

/**
 * Finds the nats-server binary: `binary`, else env NATS_SERVER_BIN, else `nats-server` on PATH,
 * else the fallback paths. Throws NatsServerNotFoundError when none is an executable file.
 */
export function findNatsServerBinary(
  opts: { binary?: string; env?: NodeJS.ProcessEnv; fallbacks?: readonly string[] } = {},
): string {
  const env = opts.env ?? process.env;
  if (opts.binary !== undefined) {
    if (isExecutableFile(opts.binary)) return opts.binary;
    throw new NatsServerNotFoundError(`at ${opts.binary}`);
  }
  const fromEnv = env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new NatsServerNotFoundError(`at ${fromEnv} (NATS_SERVER_BIN)`);
  }
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'nats-server'));
  const found = [...onPath, ...(opts.fallbacks ?? NATS_SERVER_FALLBACK_PATHS)].find(
    isExecutableFile,
  );
  if (found === undefined) throw new NatsServerNotFoundError('on PATH');
  return found;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

/**
 * Starts nats-server with JetStream on 127.0.0.1, storing in `<dataDir>/nats` and logging to
 * `<dataDir>/nats-server.log`; resolves once it accepts client connections. It listens on the
 * port of its last start (kept in `<dataDir>/nats-server.port`), so that agents reconnect to the
 * address they have after a restart, and on a new free port only when that one is taken (logged).
 * A server orphaned by an earlier run that was killed (found through `<dataDir>/nats-server.pid`)
 * is stopped first. The server is also signalled when this process exits without calling `stop()`.
 */
export async function startNatsServer(opts: NatsServerOptions): Promise<NatsServerHandle> {
  const log = opts.log ?? (() => undefined);
  const notice = opts.notice ?? log;
  const binary = findNatsServerBinary({ binary: opts.binary });
  const dataDir = resolve(opts.dataDir);
  const storeDir = join(dataDir, 'nats');
  const logFile = join(dataDir, 'nats-server.log');
  const pidFile = join(dataDir, 'nats-server.pid');
  const portFile = join(dataDir, 'nats-server.port');
  await mkdir(storeDir, { recursive: true });
  await stopOrphan(pidFile, storeDir, notice);

  let lastError: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port =
      attempt === 1
        ? await chooseRememberedPort(portFile, 'nats-server', notice)
        : await findFreePort();
    const url = `nats://127.0.0.1:${port}`;
    const logOffset = await stat(logFile).then(
      (s) => s.size,
      () => 0,
    );
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      storeDir,
      '-l',
      logFile,
      '-P',
      pidFile,
      ...(opts.configFile === undefined ? [] : ['-c', resolve(opts.configFile)]),
    ];
    // In the data dir: relative paths of the configuration (the JWT resolver's) are relative to it.
    const child = spawn(binary, args, { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const onOutput = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        output.push(line.trimEnd());
        log(line.trimEnd());
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    const exited = new Promise<string>((resolveExit) => {
      child.once('exit', (code, signal) => resolveExit(`exited with ${signal ?? `code ${code}`}`));
      child.once('error', (err) => resolveExit(`could not be started: ${err.message}`));
    });
    const killOnExit = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    };
    process.on('exit', killOnExit);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        process.off('exit', killOnExit);
        await stopChild(child, exited);
        await unlink(pidFile).catch(() => undefined);
      })());

    const failure = await waitUntilReady(url, exited, opts.authenticator);
    if (failure === undefined) {
      await rememberPort(portFile, port).catch((err: unknown) =>
        log(`cannot keep the port in ${portFile} for the next start: ${String(err)}`),
      );
      log(`nats-server (pid ${child.pid}) is ready on ${url}`);
      return { url, stop };
    }
    await stop();
    const logTail = tail([...output, await readFrom(logFile, logOffset)].join('\n'));
    lastError = new Error(
      `nats-server (${binary}) did not start on ${url}: ${failure}\n${logTail}`,
    );
    if (!/address already in use/i.test(logTail)) break;
    notice(`port ${port} was taken before nats-server could bind it; retrying on another port`);
  }
  throw lastError instanceof Error ? lastError : new Error('nats-server did not start');
}

/** Undefined once a client can connect; otherwise why it never could. */
async function waitUntilReady(
  url: string,
  exited: Promise<string>,
  authenticator: Authenticator | undefined,
): Promise<string | undefined> {
  let gone: string | undefined;
  void exited.then((why) => (gone = why));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    if (gone !== undefined) return gone;
    try {
      const nc = await connect({ servers: url, timeout: 1_000, reconnect: false, authenticator });
      await nc.close();
      return undefined;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(50);
  }
  return gone ?? `no client connection within ${READY_TIMEOUT_MS} ms (last error: ${lastError})`;
}

async function stopChild(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timedOut = Symbol('timeout');
  const result = await Promise.race([exited, sleep(STOP_GRACE_MS, timedOut)]);
  if (result === timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.max(0, size - offset);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** A nats-server left running by a killed earlier run would share our JetStream store: stop it. */
async function stopOrphan(
  pidFile: string,
  storeDir: string,
  log: (line: string) => void,
): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  const info = Number.isInteger(pid) && pid > 0 ? await inspectProcess(pid) : undefined;
  if (info && /nats-server/.test(info.commandLine) && info.commandLine.includes(storeDir)) {
    if (!(await isOrphan(info))) {
      throw new Error(
        `nats-server (pid ${pid}, parent ${info.ppid}) is already running on ${storeDir}; ` +
          `another Flotilla hub uses this data dir — stop it or choose another data dir`,
      );
    }
    log(`stopping nats-server (pid ${pid}) left running by an earlier run on ${storeDir}`);
    await terminate(pid, 'SIGTERM', STOP_GRACE_MS);
  }
  await unlink(pidFile).catch(() => undefined);
}
