import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../libs/runtime/index.js';
import { eventually } from '../../libs/testing/index.js';
import { FLOTILLA_BIN } from '../support/cli.js';

/** A `flotilla` process leading its own process group, as a terminal runs `npm start`. */
interface GroupProcess {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<void>;
}

const spawned: GroupProcess[] = [];
const servers: Server[] = [];
const dirs: string[] = [];

function spawnGroup(args: string[], env: Record<string, string | undefined>): GroupProcess {
  const child = spawn(process.execPath, [FLOTILLA_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid === undefined) throw new Error(`flotilla ${args.join(' ')} did not start`);
  const proc = { child, pid: child.pid, output: () => output, exited };
  spawned.push(proc);
  return proc;
}

/** kill -9 of a whole process group: the process and every child it started. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs and is not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function groupMembers(pgid: number): number[] {
  return readProcPids().filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[2]) === pgid && fields[0] !== 'Z';
    } catch {
      return false;
    }
  });
}

function readProcPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

afterEach(async () => {
  // Pass or fail, nothing this test started outlives it.
  for (const proc of spawned.splice(0)) {
    killGroup(proc.pid);
    await proc.exited;
  }
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a hub restart (npm start)', () => {
  it.each([
    { name: 'on the NATS port it had', takePort: false },
    {
      name: 'on another NATS port when another program took the old one meanwhile (agents ask the hub where NATS is)',
      takePort: true,
    },
  ])(
    'kill -9 of the whole npm start process group, then npm start again: every agent comes back Online, none restarted — $name',
    async ({ takePort }) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-restart-'));
      dirs.push(dataDir);
      const adminToken = `flt_restart_${Math.random().toString(36).slice(2)}_0123456789abcdef`;
      const port = await findFreePort();
      const hubEnv = {
        DATABASE_URL: undefined,
        NATS_URL: undefined,
        FLOTILLA_SUBJECT_PREFIX: undefined,
        FLOTILLA_DATA_DIR: dataDir,
        PORT: String(port),
        GRPC_PORT: String(await findFreePort()),
        FLOTILLA_ADMIN_TOKEN: adminToken,
        FLOTILLA_HEARTBEAT_INTERVAL: '1s',
      };
      const url = `http://127.0.0.1:${port}`;
      const api = async (path: string, init: RequestInit = {}): Promise<unknown> => {
        const res = await fetch(`${url}/api/v1/${path}`, {
          ...init,
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        });
        if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status}`);
        return res.json();
      };
      const ready = (hub: GroupProcess) =>
        eventually(
          'the hub ready',
          () =>
            hub.child.exitCode !== null
              ? Promise.reject(new Error(`the hub exited:\n${hub.output()}`))
              : fetch(`${url}/readyz`).then((r) => r.status),
          (s) => s === 200,
          { timeoutMs: 120_000, intervalMs: 200 },
        );
      type Cluster = { name: string; state: string; lastSeen: string | null };
      const clusters = async (): Promise<Cluster[]> =>
        ((await api('clusters')) as { items: Cluster[] }).items;

      const first = spawnGroup(['hub'], hubEnv);
      await ready(first);
      const names = ['restart-1', 'restart-2', 'restart-3'];
      const agents: GroupProcess[] = [];
      for (const name of names) {
        const { token } = (await api('clusters', {
          method: 'POST',
          body: JSON.stringify({ name }),
        })) as { token: string };
        const stateDir = mkdtempSync(join(tmpdir(), 'flotilla-restart-agent-'));
        dirs.push(stateDir);
        agents.push(
          spawnGroup(
            ['agent', '--hub', url, '--token', token, '--simulate', '--state-dir', stateDir],
            {
              DATABASE_URL: undefined,
              NATS_URL: undefined,
            },
          ),
        );
      }
      await eventually(
        'every cluster Online',
        clusters,
        (items) => items.length === names.length && items.every((c) => c.state === 'Online'),
        { intervalMs: 200 },
      );

      // kill -9 of the hub's process group: the hub, its nats-server and PostgreSQL at once.
      const natsPid = Number(readFileSync(join(dataDir, 'nats-server.pid'), 'utf8'));
      const pgPid = Number(
        readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      expect(groupMembers(first.pid)).toEqual(expect.arrayContaining([natsPid, pgPid]));
      killGroup(first.pid);
      await first.exited;
      await eventually(
        'the hub, nats-server and PostgreSQL gone',
        () => [first.pid, natsPid, pgPid].filter(isRunning),
        (alive) => alive.length === 0,
      );

      const natsPort = Number(readFileSync(join(dataDir, 'nats-server.port'), 'utf8'));
      if (takePort) {
        const squatter = createServer((socket) => socket.destroy());
        servers.push(squatter);
        await new Promise<void>((resolve) => squatter.listen(natsPort, '127.0.0.1', resolve));
      }

      const restartedAt = Date.now();
      const second = spawnGroup(['hub'], hubEnv);
      await ready(second);
      const back = await eventually(
        'every cluster heartbeating again after the restart',
        clusters,
        (items) =>
          items.length === names.length &&
          items.every(
            (c) =>
              c.state === 'Online' &&
              c.lastSeen !== null &&
              new Date(c.lastSeen).getTime() > restartedAt,
          ),
        { timeoutMs: 180_000, intervalMs: 250 },
      );
      console.log(
        `restart: every agent Online again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the hub was started again`,
      );
      expect(back.map((c) => c.name).sort()).toEqual(names);
      const movedTo = Number(readFileSync(join(dataDir, 'nats-server.port'), 'utf8'));
      if (takePort) {
        expect(movedTo).not.toBe(natsPort);
        expect(second.output()).toContain(`port ${natsPort} of the last start`);
        for (const agent of agents)
          expect(agent.output()).toContain('the hub names other NATS connection details');
      } else {
        expect(movedTo).toBe(natsPort);
      }
      // No agent was restarted: the very same processes are running.
      for (const agent of agents) {
        expect(agent.child.exitCode).toBeNull();
        expect(isRunning(agent.pid)).toBe(true);
      }
    },
    600_000,
  );
});
