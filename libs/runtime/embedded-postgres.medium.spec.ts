import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres.js';

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Alive and not a zombie waiting to be reaped (by init, for the killed server's children). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The port after a restart is the one before — unless another program (on this busy machine,
 * any test's ephemeral port) took it meanwhile, which the log must then say. Returns the port.
 */
function expectKept(before: string, after: string, logs: string[], what: string): string {
  if (after !== before) {
    expect(logs.join('\n')).toMatch(
      new RegExp(
        `port ${before} of the last start \\(kept in .*\\) is taken by another process; ${what} listens on port ${after} instead`,
      ),
    );
  }
  return after;
}

describe('startEmbeddedPostgres', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
  const handles: EmbeddedPostgresHandle[] = [];
  const logs: string[] = [];
  const start = async (): Promise<EmbeddedPostgresHandle> => {
    const handle = await startEmbeddedPostgres({ dataDir, log: (line) => logs.push(line) });
    handles.push(handle);
    return handle;
  };

  afterAll(async () => {
    for (const handle of handles) await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on a free port and keeps data and password across a restart', async () => {
    const first = await start();
    const url = new URL(first.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port).not.toBe('5432');
    expect(url.username).toBe('postgres');
    expect(url.pathname).toBe('/flotilla');
    expect(logs.some((l) => l.includes('ready to accept connections'))).toBe(true);

    const passwordFile = join(dataDir, 'postgres.password');
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(passwordFile, 'utf8').trim()).toBe(decodeURIComponent(url.password));

    await query(first.url, 'CREATE TABLE kept (v text)');
    await query(first.url, 'INSERT INTO kept VALUES ($1)', ['survives']);
    await first.stop();
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow();

    const second = await start();
    expect(new URL(second.url).password).toBe(url.password);
    expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
    await second.stop();
  });

  it('recovers from a crash that left postmaster.pid behind', async () => {
    const running = await start();
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => isAlive(pid)).toBe(false);
    expect(readFileSync(pidFile, 'utf8')).toContain(String(pid));
    await running.stop(); // the process is already gone: resolves without waiting

    const restarted = await start();
    expect(await query(restarted.url, 'SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
    await restarted.stop();
  });

  it('keeps its port across a restart, also after kill -9 of the whole server, and takes another (logged) when it is taken', async () => {
    const first = await start();
    const port = new URL(first.url).port;
    await first.stop();
    const second = await start();
    let kept = expectKept(port, new URL(second.url).port, logs, 'PostgreSQL');
    // kill -9 of the postmaster and every backend at once, as of the hub's process group.
    const pid = Number(
      readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
    for (const p of [pid, ...children]) process.kill(p, 'SIGKILL');
    await expect.poll(() => [pid, ...children].some(isRunning), { timeout: 20_000 }).toBe(false);
    await second.stop();

    const third = await start();
    kept = expectKept(kept, new URL(third.url).port, logs, 'PostgreSQL');
    expect(await query(third.url, 'SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
    await third.stop();

    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(kept), '127.0.0.1', resolve));
    try {
      const fourth = await start();
      const newPort = new URL(fourth.url).port;
      expect(newPort).not.toBe(kept);
      expect(logs.join('\n')).toContain(
        `port ${kept} of the last start (kept in ${join(dataDir, 'postgres.port')}) is taken by another process; PostgreSQL listens on port ${newPort} instead`,
      );
      expect(await query(fourth.url, 'SELECT v FROM kept')).toEqual([{ v: 'survives' }]);
      await fourth.stop();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('ignores a postmaster.pid whose pid now belongs to another process', async () => {
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    // The pid of this test process stands in for a pid reused after a reboot.
    writeFileSync(pidFile, `${process.pid}\n${join(dataDir, 'postgres')}\n`);
    const restarted = await start();
    expect(logs.some((l) => l.includes(`removing stale ${pidFile} (pid ${process.pid}`))).toBe(
      true,
    );
    expect(await query(restarted.url, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 1 }]);
    await restarted.stop();
  });
});
