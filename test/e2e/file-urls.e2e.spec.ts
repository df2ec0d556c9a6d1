import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGitServer, type GitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let closed: TestHub;
/** Bare repositories inside the hub's FLOTILLA_FILE_URL_ROOT (its `root`)… */
let inside: GitServer;
/** …and elsewhere on the same disk. */
let outside: GitServer;

beforeAll(async () => {
  [inside, outside] = await Promise.all([startGitServer(), startGitServer()]);
  await Promise.all([
    inside.createRepo('fleet', { 'apps/web/cm.yaml': configMap('inside') }),
    outside.createRepo('secret', { 'apps/web/cm.yaml': configMap('outside') }),
  ]);
  [hub, closed] = await Promise.all([
    startTestHub({ env: { FLOTILLA_FILE_URL_ROOT: inside.root } }),
    startTestHub({ env: { FLOTILLA_FILE_URL_ROOT: '' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([hub?.stop(), closed?.stop(), inside?.stop(), outside?.stop()]);
});

function configMap(name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;
}

const fileUrl = (path: string) => pathToFileURL(path).href;

describe('file:// GitRepos are confined to FLOTILLA_FILE_URL_ROOT', () => {
  it('a hub without FLOTILLA_FILE_URL_ROOT refuses file:// repositories with a 400 saying how to allow them', async () => {
    const api = closed.api();
    const res = await api
      .post('/api/v1/gitrepos')
      .send({ name: 'local', url: 'file:///srv/fleet.git' })
      .expect(400);
    expect(res.body.message).toMatch(/FLOTILLA_FILE_URL_ROOT/);
    await api
      .post('/api/v1/gitrepos')
      .send({ name: 'remote', url: 'https://example.invalid/fleet.git', pollingInterval: '0' })
      .expect(201);
    await api
      .put('/api/v1/gitrepos/remote')
      .send({ name: 'remote', url: 'file:///srv/fleet.git' })
      .expect(400);
  });

  it('a repository inside the root is accepted and synced', async () => {
    await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({ name: 'in', url: fileUrl(join(inside.root, 'fleet.git')), pollingInterval: '0' })
      .expect(201);
    const repo = await eventually(
      'in synced',
      async () => (await hub.api().get('/api/v1/gitrepos/in').expect(200)).body,
      (r) => r.status.commit !== null,
    );
    expect(repo.status.error).toBeNull();
    expect(repo.status.bundles).toEqual(['in/apps/web']);
  });

  it.each<[string, () => string]>([
    ['the hub’s working directory through /proc/self/cwd', () => 'file:///proc/self/cwd'],
    ['/proc/self/root (the whole disk)', () => 'file:///proc/self/root/etc'],
    ['a repository elsewhere on the disk', () => fileUrl(join(outside.root, 'secret.git'))],
    ['.. out of the root', () => `${fileUrl(inside.root)}/../x/secret.git`],
    ['/etc', () => 'file:///etc'],
    [
      'a symbolic link in the root that points out of it',
      () => {
        const link = join(inside.root, 'escape.git');
        rmSync(link, { force: true });
        symlinkSync(join(outside.root, 'secret.git'), link);
        return fileUrl(link);
      },
    ],
  ])('refuses %s with a 400, on create and on update', async (_behaviour, url) => {
    const api = hub.api();
    const target = url();
    const created = await api
      .post('/api/v1/gitrepos')
      .send({ name: 'out', url: target, pollingInterval: '0' })
      .expect(400);
    expect(created.body.message).toMatch(/is outside .*the only directory local repositories/);
    // Where a symbolic link leads is not told.
    if (!target.includes(outside.root)) expect(created.body.message).not.toContain(outside.root);
    await api
      .post('/api/v1/gitrepos')
      .send({ name: 'upd', url: fileUrl(join(inside.root, 'fleet.git')), pollingInterval: '0' })
      .expect((res) => expect([201, 409]).toContain(res.status));
    const updated = await api
      .put('/api/v1/gitrepos/upd')
      .send({ name: 'upd', url: target, pollingInterval: '0' })
      .expect(400);
    expect(updated.body.message).toMatch(/is outside/);
  });

  it('a symbolic link re-pointed out of the root after the GitRepo was created: the sync fails on the GitRepo and reads nothing', async () => {
    const api = hub.api();
    const link = join(inside.root, 'moving.git');
    symlinkSync(join(inside.root, 'fleet.git'), link);
    await api
      .post('/api/v1/gitrepos')
      .send({ name: 'moving', url: fileUrl(link), pollingInterval: '0' })
      .expect(201);
    const first = await eventually(
      'moving synced',
      async () => (await api.get('/api/v1/gitrepos/moving').expect(200)).body,
      (r) => r.status.commit !== null,
    );

    rmSync(link);
    symlinkSync(join(outside.root, 'secret.git'), link);
    await api.post('/api/v1/gitrepos/moving/sync').expect(202);
    const failed = await eventually(
      'moving shows the refusal',
      async () => (await api.get('/api/v1/gitrepos/moving').expect(200)).body,
      (r) => r.status.error !== null,
    );
    expect(failed.status.error).toMatch(/local repository refused: .* is outside/);
    expect(failed.status.commit).toBe(first.status.commit);
    const bundle = await api.get('/api/v1/bundles/moving%2Fapps%2Fweb').expect(200);
    expect(bundle.body.commit).toBe(first.status.commit);
  });
});

describe('GitRepo paths', () => {
  it.each([
    ['../other', /must stay inside the repository/],
    ['apps/../../x', /must stay inside the repository/],
    ['https://example.invalid/fleet', /is a URL/],
    ['git@github.com:org/fleet', /is a remote Git repository/],
  ])('refuses "%s" with a 400', async (path, message) => {
    const res = await hub
      .api()
      .post('/api/v1/gitrepos')
      .send({ name: 'paths', url: 'https://example.invalid/f.git', paths: [path] })
      .expect(400);
    expect(res.body.message).toMatch(message);
  });
});
