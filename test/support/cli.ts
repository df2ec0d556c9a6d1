import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The `flotilla` command as users run it (the built bin/flotilla.js). */
export const FLOTILLA_BIN = fileURLToPath(new URL('../../bin/flotilla.js', import.meta.url));

/** How long `runCli` lets a command run before it kills it (generous: the demo runs ~40 s loaded). */
const RUN_LIMIT_MS = 300_000;

/**
 * Every process group this test file started. Each `flotilla` process leads its own group, so the
 * hub's nats-server and embedded PostgreSQL, or a demo's agents, go with it: whatever a test did,
 * `killSpawned` (after the file, and when the worker exits) leaves nothing running.
 */
const groups = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** SIGKILLs every process group started through this module that still has members. */
export function killSpawned(): void {
  for (const pid of groups) killGroup(pid);
  groups.clear();
}

afterAll(killSpawned);
process.once('exit', killSpawned);

function start(args: string[], env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, [FLOTILLA_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid !== undefined) groups.add(child.pid);
  return child;
}

/** Result of one finished CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `flotilla ...args` to completion (killed with its children after RUN_LIMIT_MS). */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const child = start(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const limit = setTimeout(() => child.pid !== undefined && killGroup(child.pid), RUN_LIMIT_MS);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(limit);
  return { code: code ?? (signal === null ? 1 : 128), stdout, stderr };
}

/**
 * Starts a long-running `flotilla ...args` (hub, agent) as the leader of its own process group;
 * collects its output. Stop it in the test (its behaviour on a signal is often what is tested);
 * whatever is left is killed after the file.
 */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = start(args, env);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
