// Fleet's diff.comparePatches and ignore.conditions in the Kubernetes driver, against the
// wire-level fake API server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentOptions } from '../../libs/contracts/index.js';
import type { KubeObject, ObjectRef } from '../../libs/manifests/index.js';
import { eventually } from '../../libs/testing/eventually.js';
import { FakeKubeApi } from '../../libs/testing/fake-kube-api.js';
import { KubernetesCluster } from './kubernetes-cluster.js';

const NS = 'fleet-opts';
const REV = (n: number) => n.toString(16).padStart(64, '0');
const cmRef: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'cm' };
const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm' },
    data: { color: 'blue', size: 'm' },
  },
];
const options = (o: Partial<DeploymentOptions> = {}): DeploymentOptions => ({
  defaultNamespace: NS,
  correctDrift: false,
  keepResources: false,
  forceConflicts: false,
  ...o,
});

describe("Fleet's comparePatches in the Kubernetes driver's drift check", () => {
  let api: FakeKubeApi;
  let dir: string;
  let cluster: KubernetesCluster;

  beforeAll(async () => {
    api = await FakeKubeApi.start({ crdEstablishDelayMs: 50 });
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kube-fleet-'));
    cluster = new KubernetesCluster({
      kubeconfigPath: await api.writeKubeconfig(dir),
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await cluster?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('an edit of an ignored field is no drift; an edit of another field still is', async () => {
    const ignoreColor = options({
      comparePatches: [{ kind: 'ConfigMap', name: 'cm', jsonPointers: ['/data/color'] }],
    });
    await cluster.apply('demo/opts', REV(1), objects, ignoreColor);
    await eventually(
      'the bundle Ready',
      () => cluster.bundleStatus('demo/opts'),
      (s) => s?.state === 'Ready',
    );
    api.editAs('kubectl-edit', cmRef, (o) => {
      (o.data as Record<string, string>).color = 'red';
    });
    // Another edit, to a field that counts, proves the driver has seen the watch events.
    api.editAs('kubectl-edit', cmRef, (o) => {
      (o.data as Record<string, string>).size = 'xl';
    });
    const status = await eventually(
      'the bundle Modified by size only',
      () => cluster.bundleStatus('demo/opts'),
      (s) => s?.state === 'Modified',
    );
    expect(status?.message).toBe('ConfigMap cm: modified: data.size: "m" → "xl"');
  });
});
