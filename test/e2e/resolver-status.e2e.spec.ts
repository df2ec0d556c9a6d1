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

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: "1"}\n`;

async function gitRepo(name: string) {
  return (await hub.api().get(`/api/v1/gitrepos/${name}`).expect(200)).body;
}

describe('resolver status', () => {
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
    await db.query(`CREATE FUNCTION test_fail_bundle() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure writing bundle %', NEW.name; END $$;
      CREATE TRIGGER test_fail_bundle BEFORE INSERT OR UPDATE ON bundles FOR EACH ROW
        WHEN (NEW.name = 'res/web') EXECUTE FUNCTION test_fail_bundle()`);
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
      await db.query(`DROP TRIGGER IF EXISTS test_fail_bundle ON bundles;
        DROP FUNCTION IF EXISTS test_fail_bundle()`);
    }
    await hub.api().post('/api/v1/gitrepos/res/sync').expect(202);
    const synced = await eventually(
      'res synced at the new commit',
      () => gitRepo('res'),
      (r) => r.status.commit === commit,
    );
    expect(synced.status.error).toBeNull();
  });
});
