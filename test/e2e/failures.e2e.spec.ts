/**
 * What a failure midway leaves behind: nothing half-applied, and the error where a user looks.
 * Failures are injected with PostgreSQL triggers, as a deadlock or a dropped connection would
 * make them.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { injectFailure } from '../support/failures.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let git: GitServer;
/** The hub's database, where the tests inject failures (triggers) and read what stayed. */
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

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: "1"}\n`;

async function gitRepo(name: string) {
  return (await hub.api().get(`/api/v1/gitrepos/${name}`).expect(200)).body;
}

describe('a resolver sync', () => {
  it('a sync that fails beyond one bundle (its state cannot be written) shows its error on the GitRepo, and the next sync clears it', async () => {
    const repo = await git.createRepo('res', { 'apps/web/cm.yaml': configMap('web') });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({ name: 'res', url: repo.url, paths: ['apps'], pollingInterval: '0' })
      .expect(201);
    const first = await eventually(
      'res synced',
      () => gitRepo('res'),
      (r) => r.status.commit !== null,
    );
    expect(first.status.error).toBeNull();

    // Writing the bundle fails (as PostgreSQL refusing writes would make it), so neither its
    // new state nor its error can be recorded on the bundle.
    const failure = await injectFailure(db, {
      name: 'test_fail_bundle',
      table: 'bundles',
      on: 'INSERT OR UPDATE',
      when: `NEW.name = 'res/web'`,
      message: 'injected failure writing bundle res/web',
    });
    let commit: string;
    try {
      commit = await git.commit('res', { 'apps/web/cm.yaml': configMap('web-v2') });
      await hub.api().post('/api/v1/gitrepos/res/sync').expect(202);
      const failed = await eventually(
        'the failure on the GitRepo',
        () => gitRepo('res'),
        (r) => r.status.error !== null,
      );
      expect(failed.status.error).toContain('injected failure writing bundle res/web');
      // The last good commit stays.
      expect(failed.status.commit).toBe(first.status.commit);
    } finally {
      await failure.remove();
    }
    await hub.api().post('/api/v1/gitrepos/res/sync').expect(202);
    const synced = await eventually(
      'res synced at the new commit',
      () => gitRepo('res'),
      (r) => r.status.commit === commit,
    );
    expect(synced.status.error).toBeNull();
  });

  it('a deleted GitRepo whose targets cannot be cleared at once has them cleared on a later try', async () => {
    const repo = await git.createRepo('gone', { 'apps/web/cm.yaml': configMap('gone') });
    await db.query(`INSERT INTO clusters (name, labels) VALUES ('g-1', '{"env":"gone"}')`);
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({
        name: 'gone',
        url: repo.url,
        paths: ['apps'],
        pollingInterval: '0',
        targets: [{ clusterSelector: 'env=gone' }],
      })
      .expect(201);
    const targets = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM bundle_targets WHERE bundle = 'gone/web'`,
          )
        ).rows[0]!.n,
      );
    await eventually('gone/web targets g-1', targets, (n) => n === 1);

    // The first try to clear the deleted bundle's targets fails (PostgreSQL gone for a moment).
    const failure = await injectFailure(db, {
      name: 'test_fail_clear',
      table: 'bundle_targets',
      on: 'DELETE',
      when: `OLD.bundle = 'gone/web'`,
      times: 1,
    });
    try {
      await hub.api().delete('/api/v1/gitrepos/gone').expect(204);
      await eventually('gone/web targets cleared', targets, (n) => n === 0);
      // It did fail once, and was cleared by a later try.
      expect(await failure.fired()).toBeGreaterThanOrEqual(2);
    } finally {
      await failure.remove();
    }
  });
});

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
      'apps/web/cm.yaml': configMap('web'),
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
    const failure = await injectFailure(db, {
      name: 'test_fail_pass',
      table: 'deployments',
      on: 'INSERT OR UPDATE',
      when: `NEW.bundle = 'pass/web' AND NEW.cluster = 'p-2'`,
    });
    try {
      await git.commit('pass', { 'apps/web/fleet.yaml': 'paused: false\n' });
      await hub.api().post('/api/v1/gitrepos/pass/sync').expect(202);
      await eventually(
        'a pass failed on p-2',
        () => failure.fired(),
        (n) => n >= 1,
      );
      // Neither were the holds cleared nor p-1 delivered: nothing of the failed pass stayed.
      expect(await deliveryRows()).toEqual(paused);
    } finally {
      await failure.remove();
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
