import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGitServer, type GitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// A Git server that sends more than the hub takes: FLOTILLA_GIT_MAX_BYTES stops the transfer,
// the GitRepo shows why, and the hub's cache keeps nothing of it.

let hub: TestHub;
let git: GitServer;

beforeAll(async () => {
  [hub, git] = await Promise.all([
    startTestHub({ env: { FLOTILLA_GIT_MAX_BYTES: '256KiB' } }),
    startGitServer(),
  ]);
});
afterAll(async () => {
  await hub?.stop();
  await git?.stop();
});

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;

/** Every pack file in the hub's Git cache (`<FLOTILLA_DATA_DIR>/git`), as paths. */
function cachedPacks(): string[] {
  const root = join(hub.env.FLOTILLA_DATA_DIR!, 'git');
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((p) =>
    /objects\/pack\/.+\.pack$/.test(p),
  );
}

const gitrepo = async (name: string) =>
  (await hub.api().get(`/api/v1/gitrepos/${name}`).expect(200)).body;

describe('FLOTILLA_GIT_MAX_BYTES', () => {
  it('a repository bigger than the limit is not fetched: the GitRepo shows the limit, the cache keeps nothing', async () => {
    // About 1.4 MiB of pack: random bytes as base64 hardly compress.
    const repo = await git.createRepo('huge', {
      'app/cm.yaml': configMap('huge'),
      'blobs/data.txt': randomBytes(1_000_000).toString('base64'),
    });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({ name: 'huge', url: repo.url, paths: ['app'], pollingInterval: '0' })
      .expect(201);
    const failed = await eventually(
      'huge shows an error',
      () => gitrepo('huge'),
      (r) => r.status.error !== null,
    );
    expect(failed.status.error).toMatch(
      /fetching branch "main" from .*huge\.git: the repository sent more than 256 KiB in one response, the most this hub fetches \(FLOTILLA_GIT_MAX_BYTES\)/,
    );
    expect(failed.status.commit).toBeNull();
    expect(cachedPacks()).toEqual([]);
  });

  it('a push that takes a synced repository past the limit keeps its last good commit and shows the error', async () => {
    const repo = await git.createRepo('grows', { 'app/cm.yaml': configMap('grows') });
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({ name: 'grows', url: repo.url, paths: ['app'], pollingInterval: '0' })
      .expect(201);
    const synced = await eventually(
      'grows synced',
      () => gitrepo('grows'),
      (r) => r.status.commit !== null && r.status.error === null,
    );
    const packs = cachedPacks();
    expect(packs).toHaveLength(1);

    await git.commit('grows', { 'blobs/data.txt': randomBytes(1_000_000).toString('base64') });
    await hub.api().post('/api/v1/gitrepos/grows/sync').expect(202);
    const failed = await eventually(
      'grows shows the limit',
      () => gitrepo('grows'),
      (r) => r.status.error !== null,
    );
    expect(failed.status.error).toMatch(/more than 256 KiB .*FLOTILLA_GIT_MAX_BYTES/);
    expect(failed.status.commit).toBe(synced.status.commit);
    expect(cachedPacks()).toEqual(packs);
    await hub.api().get('/readyz').expect(200);
  });
});
