import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;

beforeAll(async () => {
  hub = await startTestHub({ env: { FLOTILLA_ALLOW_FILE_URLS: 'false' } });
});
afterAll(async () => {
  await hub?.stop();
});

describe('Git URL allowlist', () => {
  it('a hub without FLOTILLA_ALLOW_FILE_URLS refuses file:// repositories with a 400 saying how to allow them', async () => {
    const api = hub.api();
    const res = await api
      .post('/api/v1/gitrepos')
      .send({ name: 'local', url: 'file:///srv/fleet.git' })
      .expect(400);
    expect(res.body.message).toMatch(/FLOTILLA_ALLOW_FILE_URLS=true/);
    await api
      .post('/api/v1/gitrepos')
      .send({ name: 'remote', url: 'https://example.invalid/fleet.git', pollingInterval: '0' })
      .expect(201);
    await api
      .put('/api/v1/gitrepos/remote')
      .send({ name: 'remote', url: 'file:///srv/fleet.git' })
      .expect(400);
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
