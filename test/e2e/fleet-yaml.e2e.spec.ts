// A repository laid out for Rancher Fleet, unmodified: targetCustomizations, namespace,
// yaml.overlays, a Helm chart post-rendered by Kustomize, a Kustomize overlay over ../../base,
// doNotDeploy. Each simulated cluster must hold exactly what Fleet would have put there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agents/agent/agent.js';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const clusters = {
  'eu-1': { env: 'prod', region: 'eu' },
  'eu-2': { env: 'prod', region: 'eu' },
  'us-1': { env: 'prod', region: 'us' },
};

const FILES: Record<string, string> = {
  // Plain YAML with Fleet's namespace and yaml.overlays picked by a targetCustomization.
  'apps/guestbook/fleet.yaml': `namespace: guestbook
targetCustomizations:
  - name: eu
    clusterSelector: {matchLabels: {region: eu}}
    yaml: {overlays: [eu]}
`,
  'apps/guestbook/frontend.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: frontend, namespace: ignored}
data: {replicas: "1", region: none}
`,
  'apps/guestbook/overlays/eu/frontend_patch.yaml':
    'kind: ConfigMap\nmetadata: {name: frontend}\ndata: {replicas: "3", region: eu}\n',
  // A Helm chart post-rendered by Kustomize; us-1 gets other values.
  'apps/helm-kustomize/fleet.yaml': `defaultNamespace: hk
helm:
  chart: ""
  releaseName: hk
  values: {color: blue}
kustomize: {dir: post}
targetCustomizations:
  - name: us
    clusterName: us-1
    helm: {values: {color: red}}
`,
  'apps/helm-kustomize/Chart.yaml': 'apiVersion: v2\nname: hk\nversion: 0.1.0\n',
  'apps/helm-kustomize/templates/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: "{{ .Release.Name }}-color"}
data: {color: "{{ .Values.color }}"}
`,
  'apps/helm-kustomize/post/kustomization.yaml': 'labels: [{pairs: {post-rendered: "yes"}}]\n',
  // Deployed everywhere but us-1.
  'apps/eu-only/fleet.yaml': `defaultNamespace: eu-only
targetCustomizations:
  - clusterSelector: {matchLabels: {region: us}}
    doNotDeploy: true
`,
  'apps/eu-only/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: eu-only}\n',
  // Fleet's overrideTargets replace the GitRepo's targets; dependsOn by bundle labels.
  'apps/us-tools/fleet.yaml': `defaultNamespace: tools
labels: {tier: data}
overrideTargets: [{clusterName: us-1}]
`,
  'apps/us-tools/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tools}\n',
  'apps/consumer/fleet.yaml': `defaultNamespace: consumer
dependsOn: [{selector: {matchLabels: {tier: data}}}]
targetCustomizations: [{clusterName: us-1}]
overrideTargets: [{clusterName: us-1}]
`,
  'apps/consumer/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: consumer}\n',
  // Fleet's older form: targets that also carry options.
  'apps/old-form/fleet.yaml': `defaultNamespace: old-form
targets:
  - {name: us, clusterSelector: {matchLabels: {region: us}}, yaml: {overlays: [us]}}
  - {name: eu, clusterSelector: {matchLabels: {region: eu}}}
`,
  'apps/old-form/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\ndata: {at: base}\n',
  'apps/old-form/overlays/us/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\ndata: {at: us}\n',
  // The most common Kustomize layout: an overlay over a base elsewhere in the repository.
  'kustomize/base/kustomization.yaml': 'resources: [cm.yaml]\n',
  'kustomize/base/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {tier: base}\n',
  'kustomize/overlays/prod/fleet.yaml': 'defaultNamespace: app\n',
  'kustomize/overlays/prod/kustomization.yaml': `resources: [../../base]
namePrefix: prod-
patches:
  - target: {kind: ConfigMap}
    patch: '[{"op": "replace", "path": "/data/tier", "value": "prod"}]'
`,
};

let hub: TestHub;
let git: GitServer;
let api: ReturnType<TestHub['api']>;
const drivers = new Map<string, SimulatedCluster>();
const agents: RunningAgent[] = [];
const stateDirs: string[] = [];

beforeAll(async () => {
  hub = await startTestHub({ heartbeatInterval: '300ms' });
  api = hub.api();
  git = await startGitServer();
  const repo = await git.createRepo('fleet-style', FILES);
  for (const [name, labels] of Object.entries(clusters)) {
    const res = await api.post('/api/v1/clusters').send({ name, labels }).expect(201);
    const driver = new SimulatedCluster();
    drivers.set(name, driver);
    const stateDir = mkdtempSync(join(tmpdir(), `flotilla-${name}-`));
    stateDirs.push(stateDir);
    agents.push(
      await startAgent({
        hubUrl: hub.httpUrl,
        token: res.body.token as string,
        driver,
        stateDir,
        heartbeatIntervalMs: 300,
        logger: pino({ level: 'silent' }),
      }),
    );
  }
  await api
    .post('/api/v1/gitrepos')
    .send({
      name: 'fleet',
      url: `file://${repo.bareDir}`,
      branch: 'main',
      paths: ['apps', 'kustomize/overlays'],
      pollingInterval: '0',
      targets: [{ clusterSelector: 'env=prod' }],
    })
    .expect(201);
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await git?.stop();
  await hub?.stop();
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

/** `key → data` of every live ConfigMap of a cluster. */
function configMaps(cluster: string): Record<string, unknown> {
  const driver = drivers.get(cluster)!;
  const out: Record<string, unknown> = {};
  for (const key of driver.liveKeys()) {
    const obj = driver.liveObject(key) as {
      kind: string;
      data?: unknown;
      metadata: { labels?: Record<string, string> };
    };
    if (obj.kind !== 'ConfigMap') continue;
    const labels = { ...obj.metadata.labels };
    delete labels['app.kubernetes.io/managed-by'];
    out[key] = { data: obj.data ?? {}, labels };
  }
  return out;
}

describe('a Fleet-style repository deploys unmodified', () => {
  it('every bundle is discovered without errors and Ready where it is targeted', async () => {
    const expected: Record<string, string[]> = {
      'fleet/apps/guestbook': ['eu-1', 'eu-2', 'us-1'],
      'fleet/apps/helm-kustomize': ['eu-1', 'eu-2', 'us-1'],
      'fleet/apps/eu-only': ['eu-1', 'eu-2'],
      'fleet/kustomize/overlays/prod': ['eu-1', 'eu-2', 'us-1'],
      'fleet/apps/us-tools': ['us-1'],
      'fleet/apps/old-form': ['eu-1', 'eu-2', 'us-1'],
      'fleet/apps/consumer': ['us-1'],
    };
    await eventually(
      'every Fleet-style bundle Ready on its clusters',
      async () =>
        Promise.all(
          Object.keys(expected).map(async (name) => {
            const res = await api.get(`/api/v1/bundles/${encodeURIComponent(name)}`);
            return [name, res.status === 200 ? res.body : undefined] as const;
          }),
        ),
      (found) =>
        found.every(
          ([name, b]) =>
            b !== undefined &&
            b.error == null &&
            (b.deployments as { cluster: string; state: string }[])
              .map((d) => d.cluster)
              .join(',') === expected[name]!.join(',') &&
            (b.deployments as { state: string }[]).every((d) => d.state === 'Ready'),
        ),
    );
    const repo = (await api.get('/api/v1/gitrepos/fleet').expect(200)).body;
    expect(repo.status.error ?? null).toBeNull();
    // dependsOn.selector resolved to the bundles whose labels match
    const consumer = (await api.get(`/api/v1/bundles/${encodeURIComponent('fleet/apps/consumer')}`))
      .body as { dependsOn: unknown };
    expect(consumer.dependsOn).toEqual([{ name: 'fleet/apps/us-tools' }]);
  });

  it("each cluster holds the objects Fleet's semantics give it", () => {
    const eu = {
      'v1/ConfigMap/guestbook/frontend': {
        data: { replicas: '3', region: 'eu' },
        labels: {},
      },
      'v1/ConfigMap/hk/hk-color': { data: { color: 'blue' }, labels: { 'post-rendered': 'yes' } },
      'v1/ConfigMap/eu-only/eu-only': { data: {}, labels: {} },
      'v1/ConfigMap/app/prod-app': { data: { tier: 'prod' }, labels: {} },
      'v1/ConfigMap/old-form/old': { data: { at: 'base' }, labels: {} },
    };
    expect(configMaps('eu-1')).toEqual(eu);
    expect(configMaps('eu-2')).toEqual(eu);
    expect(configMaps('us-1')).toEqual({
      // no targetCustomization matches: the base render, namespace still forced
      'v1/ConfigMap/guestbook/frontend': { data: { replicas: '1', region: 'none' }, labels: {} },
      // the first matching targetCustomization's values
      'v1/ConfigMap/hk/hk-color': { data: { color: 'red' }, labels: { 'post-rendered': 'yes' } },
      'v1/ConfigMap/app/prod-app': { data: { tier: 'prod' }, labels: {} },
      'v1/ConfigMap/tools/tools': { data: {}, labels: {} },
      'v1/ConfigMap/consumer/consumer': { data: {}, labels: {} },
      'v1/ConfigMap/old-form/old': { data: { at: 'us' }, labels: {} },
    });
  });

  it('paused: true keeps every cluster on what it runs; unpausing delivers the new commit', async () => {
    const paused = await git.commit('fleet-style', {
      'apps/guestbook/fleet.yaml': `${FILES['apps/guestbook/fleet.yaml']}paused: true\n`,
      'apps/guestbook/frontend.yaml': FILES['apps/guestbook/frontend.yaml']!.replace(
        'region: none',
        'region: changed',
      ),
    });
    await api.post('/api/v1/gitrepos/fleet/sync').expect((res) => {
      expect(res.status).toBeLessThan(300);
    });
    // The change reaches only us-1's render (eu's overlay sets region itself): us-1 is held.
    const held = await eventually(
      'guestbook held back at the paused commit',
      async () =>
        (await api.get(`/api/v1/bundles/${encodeURIComponent('fleet/apps/guestbook')}`)).body,
      (b) =>
        b.commit === paused &&
        (b.deployments as { cluster: string; state: string; message: string }[]).some(
          (d) => d.cluster === 'us-1' && d.state === 'OutOfSync' && d.message.includes('paused'),
        ),
    );
    expect(
      (held.deployments as { cluster: string; state: string; message: string }[]).map((d) => [
        d.cluster,
        d.state,
        d.message,
      ]),
    ).toEqual([
      ['eu-1', 'Ready', ''],
      ['eu-2', 'Ready', ''],
      ['us-1', 'OutOfSync', 'bundle is paused (fleet.yaml paused: true)'],
    ]);
    expect(configMaps('us-1')['v1/ConfigMap/guestbook/frontend']).toEqual({
      data: { replicas: '1', region: 'none' },
      labels: {},
    });

    const unpaused = await git.commit('fleet-style', {
      'apps/guestbook/fleet.yaml': FILES['apps/guestbook/fleet.yaml']!,
    });
    await api.post('/api/v1/gitrepos/fleet/sync').expect((res) => {
      expect(res.status).toBeLessThan(300);
    });
    await eventually(
      'us-1 runs the unpaused commit',
      () => Promise.resolve(configMaps('us-1')['v1/ConfigMap/guestbook/frontend']),
      (cm) =>
        JSON.stringify(cm) ===
        JSON.stringify({ data: { replicas: '1', region: 'changed' }, labels: {} }),
    );
    expect(unpaused).not.toBe(paused);
  });
});
