// The hubs of a benchmark run beyond the first (which runs in the bench's process): `flotilla
// hub` child processes on the same database and NATS, as replicas run in production. Two
// in-process hubs would share one event loop and one Prometheus registry.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort } from '../libs/runtime/free-port.js';

/** The built `flotilla` command (dist-bench/bench → the repository's bin/flotilla.js). */
const FLOTILLA_BIN = fileURLToPath(new URL('../../bin/flotilla.js', import.meta.url));

/** One `flotilla hub` child process. */
export interface ChildHub {
  url: string;
  pid: number;
  /** CPU time (user + system, seconds) of the process so far, from /proc/<pid>/stat. */
  cpuSeconds(): number;
  /** Resident set size of the process (MiB), from /proc/<pid>/status. */
  rssMiB(): number;
  stop(): Promise<void>;
}

/** Starts `flotilla hub` with `env` (plus its own ports and data directory); waits for /readyz. */
export async function startChildHub(
  name: string,
  env: Record<string, string>,
  timeoutMs: number,
  /** Arguments after `flotilla hub`, e.g. `['--services', 'api']`. */
  args: string[] = [],
): Promise<ChildHub> {
  const port = await findFreePort();
  const dataDir = mkdtempSync(join(tmpdir(), `flotilla-bench-hub-${name}-`));
  const child: ChildProcess = spawn(process.execPath, [FLOTILLA_BIN, 'hub', ...args], {
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      GRPC_PORT: String(await findFreePort()),
      FLOTILLA_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const pid = child.pid;
  const kill = (): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', kill);
  const stop = async (): Promise<void> => {
    kill();
    await exited;
    process.removeListener('exit', kill);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone || pid === undefined) {
      await stop();
      throw new Error(`hub ${name} exited before it was ready:\n${output}`);
    }
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hub ${name} not ready after ${timeoutMs} ms:\n${output}`);
    }
    await sleep(250);
  }
  const ticks = 100; // USER_HZ on Linux
  return {
    url,
    pid,
    cpuSeconds: () => {
      // Fields after the command name (which may hold spaces) start at its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    },
    rssMiB: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      return Number(kib ?? 0) / 1024;
    },
    stop,
  };
}
