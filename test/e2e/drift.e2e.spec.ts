import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { runCli } from '../support/cli.js';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// Drift a bundle tells Flotilla to ignore (Fleet's diff.comparePatches: an HPA owns
// spec.replicas) stays out of drift; other out-of-band edits show, and fleet status sums them up
// in one line (REST, CLI, gRPC). Simulated driver.

const DEPLOYMENT = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: {name: web}',
  'spec:',
  '  replicas: 3',
  '  template:',
  '    spec:',
  '      containers: [{name: web, image: "web:1"}]',
  '',
].join('\n');
const FLEET_YAML = [
  'diff:',
  '  comparePatches:',
  '    - apiVersion: apps/v1',
  '      kind: Deployment',
  '      name: web',
  '      operations: [{op: remove, path: /spec/replicas}]',
  '',
].join('\n');
const KEY = 'apps/v1/Deployment/default/web';

let hub: TestHub;
let git: GitServer;
let agent: RunningAgent | undefined;
let viewer: string;
const driver = new SimulatedCluster();

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  git = await startGitServer();
  const api = hub.api();
  viewer = (await api.post('/api/v1/api-tokens').send({ name: 'v', role: 'viewer' }).expect(201))
    .body.token;
  const res = await api.post('/api/v1/clusters').send({ name: 'edge', labels: {} }).expect(201);
  agent = await startAgent({
    hubUrl: hub.httpUrl,
    token: res.body.token,
    driver,
    stateDir: mkdtempSync(join(tmpdir(), 'flotilla-drift-')),
    heartbeatIntervalMs: 300,
    logger: pino({ level: 'silent' }),
  });
  await git.createRepo('app', {
    'web/fleet.yaml': FLEET_YAML,
    'web/deployment.yaml': DEPLOYMENT,
  });
  await api
    .post('/api/v1/gitrepos')
    .send({
      name: 'app',
      url: `${git.url}/app.git`,
      paths: ['web'],
      pollingInterval: '0',
      targets: [{ clusterName: 'edge' }],
    })
    .expect(201);
  await eventually(
    'app/web Ready on edge',
    async () => (await api.get(`/api/v1/bundles/${encodeURIComponent('app/web')}`)).body,
    (b) => b.deployments?.length === 1 && b.deployments[0].state === 'Ready',
  );
});

afterAll(async () => {
  await agent?.stop();
  await git?.stop();
  await hub?.stop();
});

describe('drift and diff.comparePatches (simulated driver)', () => {
  it('an edit of an ignored field is no drift; an edit of another field is, and fleet status sums it up', async () => {
    const api = hub.api();
    // The HPA scales web: spec.replicas is ignored, so the deployment stays Ready.
    driver.editLiveObject(KEY, (o) => {
      (o.spec as { replicas: number }).replicas = 5;
    });
    expect((driver.liveObject(KEY)!.spec as { replicas: number }).replicas).toBe(5);
    // Someone changes the image by hand: that is drift, and the only drifted field.
    driver.editLiveObject(KEY, (o) => {
      const spec = o.spec as { template: { spec: { containers: { image: string }[] } } };
      spec.template.spec.containers[0]!.image = 'web:hotfix';
    });
    const status = await eventually(
      'fleet status lists app/web on edge as Modified',
      async () => (await api.get('/api/v1/status').expect(200)).body,
      (s) => s.nonReady.some((d: { state: string }) => d.state === 'Modified'),
    );
    expect(status.nonReady).toEqual([
      {
        cluster: 'edge',
        bundle: 'app/web',
        state: 'Modified',
        message: expect.any(String),
        drift:
          'modified: Deployment web: spec.template.spec.containers[0].image "web:1"→"web:hotfix"',
      },
    ]);
    const detail = (await api.get('/api/v1/clusters/edge').expect(200)).body;
    expect(detail.deployments[0].resources).toEqual([
      expect.objectContaining({
        kind: 'Deployment',
        name: 'web',
        state: 'Modified',
        drift: [
          {
            path: 'spec.template.spec.containers[0].image',
            desired: '"web:1"',
            live: '"web:hotfix"',
          },
        ],
      }),
    ]);
    const cli = await runCli(['status', '--server', hub.httpUrl], { FLOTILLA_TOKEN: viewer });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(
      /edge\s+app\/web\s+Modified\s+modified: Deployment web: spec\.template\.spec\.containers\[0\]\.image "web:1"→"web:hotfix"\n/,
    );
    const fleet = fleetClient(hub.grpcAddress!, viewer);
    try {
      expect((await fleet.call<{ nonReady: unknown[] }>('GetFleetStatus', {})).nonReady).toEqual([
        expect.objectContaining({
          bundle: 'app/web',
          state: 'Modified',
          drift:
            'modified: Deployment web: spec.template.spec.containers[0].image "web:1"→"web:hotfix"',
        }),
      ]);
    } finally {
      fleet.client.close();
    }
    // Put back by hand (the replicas stay the HPA's): Ready again, nothing drifted.
    driver.editLiveObject(KEY, (o) => {
      const spec = o.spec as { template: { spec: { containers: { image: string }[] } } };
      spec.template.spec.containers[0]!.image = 'web:1';
    });
    await eventually(
      'fleet status has nothing non-ready',
      async () => (await api.get('/api/v1/status').expect(200)).body,
      (s) => s.nonReady.length === 0,
    );
    expect((driver.liveObject(KEY)!.spec as { replicas: number }).replicas).toBe(5);
  });
});
