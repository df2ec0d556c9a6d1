import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let git: GitServer;
let db: pg.Client;

beforeAll(async () => {
  hub = await startTestHub();
  git = await startGitServer();
  db = new pg.Client({ connectionString: hub.config.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await git?.stop();
  await hub?.stop();
});

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: "1"}\n';
const PAUSED = 'bundle is paused (fleet.yaml paused: true)';

/** What delivery wrote for `pass/web` on each cluster: its hold and the desired revision. */
async function deliveryRows(): Promise<
  { cluster: string; hold: string | null; desired: string | null }[]
> {
  const { rows } = await db.query<{ cluster: string; hold: string | null; desired: string | null }>(
    `SELECT t.cluster, t.hold_reason AS hold, d.desired_revision AS desired
       FROM bundle_targets t
       LEFT JOIN deployments d ON d.bundle = t.bundle AND d.cluster = t.cluster
      WHERE t.bundle = 'pass/web' ORDER BY t.cluster`,
  );
  return rows;
}

describe('a delivery pass', () => {
  it('that fails midway leaves holds and desired revisions as they were, and is run again', async () => {
    await db.query(
      `INSERT INTO clusters (name, labels) VALUES ('p-1', '{"env":"prod"}'), ('p-2', '{"env":"prod"}')`,
    );
    const repo = await git.createRepo('pass', {
      'apps/web/fleet.yaml': 'paused: true\n',
      'apps/web/cm.yaml': configMap,
    });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'pass',
        url: repo.url,
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=prod' }],
      })
      .expect(201);
    const paused = [
      { cluster: 'p-1', hold: PAUSED, desired: null },
      { cluster: 'p-2', hold: PAUSED, desired: null },
    ];
    await eventually(
      'pass/web held on both clusters',
      deliveryRows,
      (rows) => rows.every((r) => r.hold === PAUSED) && rows.length === 2,
    );
    expect(await deliveryRows()).toEqual(paused);

    // Unpausing clears the holds and delivers to both clusters, in one pass; the delivery to p-2
    // fails (as a deadlock or a dropped connection would make it) until the trigger is dropped.
    await db.query(`CREATE SEQUENCE test_fail_pass;
      CREATE FUNCTION test_fail_pass() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM nextval('test_fail_pass');
        RAISE EXCEPTION 'injected failure';
      END $$;
      CREATE TRIGGER test_fail_pass BEFORE INSERT OR UPDATE ON deployments FOR EACH ROW
        WHEN (NEW.bundle = 'pass/web' AND NEW.cluster = 'p-2')
        EXECUTE FUNCTION test_fail_pass()`);
    try {
      await git.commit('pass', { 'apps/web/fleet.yaml': 'paused: false\n' });
      await hub.api().post('/api/v1/gitrepos/pass/sync').expect(202);
      await eventually(
        'a pass failed on p-2',
        async () =>
          (await db.query<{ called: boolean }>('SELECT is_called AS called FROM test_fail_pass'))
            .rows[0]!,
        (row) => row.called,
      );
      // Neither were the holds cleared nor p-1 delivered: nothing of the failed pass stayed.
      expect(await deliveryRows()).toEqual(paused);
    } finally {
      await db.query(`DROP TRIGGER IF EXISTS test_fail_pass ON deployments;
        DROP FUNCTION IF EXISTS test_fail_pass(); DROP SEQUENCE IF EXISTS test_fail_pass`);
    }
    // The retried pass delivers to both clusters.
    const delivered = await eventually(
      'pass/web delivered to both clusters',
      deliveryRows,
      (rows) => rows.every((r) => r.hold === null && r.desired !== null),
    );
    expect(delivered.map((r) => r.cluster)).toEqual(['p-1', 'p-2']);
  });
});
