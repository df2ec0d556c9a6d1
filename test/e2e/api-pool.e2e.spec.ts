// The api service reads and writes PostgreSQL through its own pool (FLOTILLA_API_DB_POOL),
// apart from the main pool that status ingest and delivery use: API calls are seen on
// connections named flotilla-hub-api, never more of them than configured.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let admin: pg.Client;

beforeAll(async () => {
  hub = await startTestHub({ env: { FLOTILLA_API_DB_POOL: '2' } });
  admin = new pg.Client({ connectionString: hub.env.DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await hub?.stop();
});

/** Connections of the hub's database by application name, and how many wait on a lock. */
async function connections(): Promise<Record<string, { all: number; waiting: number }>> {
  const { rows } = await admin.query<{ app: string; all: string; waiting: string }>(
    `SELECT application_name AS app, count(*) AS all,
            count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
      GROUP BY application_name`,
  );
  return Object.fromEntries(
    rows.map((r) => [r.app, { all: Number(r.all), waiting: Number(r.waiting) }]),
  );
}

describe("the api service's own PostgreSQL pool", () => {
  it('runs API calls on its own connections, at most FLOTILLA_API_DB_POOL of them', async () => {
    await hub.api().post('/api/v1/clusters').send({ name: 'pool-1', labels: {} }).expect(201);
    // Held by the test, the lock makes the API's reads of clusters wait where they can be seen.
    const locker = new pg.Client({ connectionString: hub.env.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE clusters IN ACCESS EXCLUSIVE MODE');
      const calls = Array.from({ length: 5 }, () =>
        hub
          .api()
          .get('/api/v1/clusters?limit=10')
          .then((r) => r.status),
      );
      const seen = await eventually(
        'API reads waiting on the lock on both api connections',
        connections,
        (c) => (c['flotilla-hub-api']?.waiting ?? 0) === 2,
      );
      // Five calls, two connections: the pool's size is the limit, and the main pool's
      // connections (flotilla-hub) are others.
      expect(seen['flotilla-hub-api']!.all).toBe(2);
      expect(seen['flotilla-hub']?.all ?? 0).toBeGreaterThan(0);
      await locker.query('ROLLBACK');
      expect(await Promise.all(calls)).toEqual([200, 200, 200, 200, 200]);
    } finally {
      await locker.end();
    }
  });
});
