import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
