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
