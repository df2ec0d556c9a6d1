import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** What we can tell about a process from outside: its parent and its command line. */
export interface ProcessInfo {
  ppid: number;
  commandLine: string;
}

/** True when a process with this pid exists (signalling it may still be forbidden). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parent pid and command line of `pid`, or undefined when it does not exist. */
export async function inspectProcess(pid: number): Promise<ProcessInfo | undefined> {
  if (!isAlive(pid)) return undefined;
  try {
    const [stat, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may hold spaces).
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { ppid, commandLine: cmdline.split('\0').join(' ').trim() };
  } catch {
    // No procfs (macOS): ask ps.
    return new Promise((resolve) => {
      execFile('ps', ['-o', 'ppid=,args=', '-p', String(pid)], (err, stdout) => {
        const match = /^\s*(\d+)\s+(.*)$/s.exec(stdout);
        if (err || !match) resolve(undefined);
        else resolve({ ppid: Number(match[1]), commandLine: (match[2] ?? '').trim() });
      });
    });
  }
}

/** Polls until `pid` is gone; false when it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Stops a process we do not hold a handle to (an orphan of an earlier run): `signal`, then
 * SIGKILL when it is still there after `graceMs`.
 */
export async function terminate(
  pid: number,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  if (await waitForExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 2_000);
}

/**
 * Whether a process that holds one of our pid files is an orphan of an earlier run (its parent
 * died and it was re-parented to init or a subreaper) rather than the child of another process
 * that is still running and using the same data directory.
 */
export async function isOrphan(info: ProcessInfo): Promise<boolean> {
  if (info.ppid === 1) return true;
  const parent = await inspectProcess(info.ppid);
  if (!parent) return true;
  return /(^|\/)(systemd|init|tini|dumb-init|s6-svscan)(\s|$)/.test(parent.commandLine);
}

/** Last `lines` lines of a text, for error messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
