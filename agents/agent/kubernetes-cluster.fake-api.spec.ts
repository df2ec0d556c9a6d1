import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataOf } from '../../libs/manifests/index.js';
import { eventually } from '../../libs/testing/eventually.js';
import { FakeKubeApi } from '../../libs/testing/fake-kube-api.js';
import { kubernetesScenarios, type KubeScenarioTarget } from './kubernetes-scenarios.js';

/** The fake API's URL of a namespaced object, written as `manager` (a field manager). */
function objectUrl(
  server: string,
  ref: { apiVersion: string; kind: string; namespace?: string; name: string },
  manager: string,
): string {
  const [group, version] = ref.apiVersion.includes('/')
    ? ref.apiVersion.split('/')
    : ['', ref.apiVersion];
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const plural = `${ref.kind.toLowerCase()}s`;
  return `${server}${base}/namespaces/${ref.namespace}/${plural}/${ref.name}?fieldManager=${manager}`;
}

describe('KubernetesCluster against the wire-level fake API server', () => {
  let api: FakeKubeApi;
  let dir: string;
  let target: KubeScenarioTarget;

  beforeAll(async () => {
    api = await FakeKubeApi.start({ crdEstablishDelayMs: 50 });
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kube-fake-'));
    const kubeconfigPath = await api.writeKubeconfig(dir);
    target = {
      kubeconfigPath,
      get: (ref) => Promise.resolve(api.get(ref)),
      patchAs: async (manager, ref, patch) => {
        const res = await fetch(objectUrl(api.url, ref, manager), {
          method: 'PATCH',
          headers: { 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify(patch),
        });
        if (!res.ok) throw new Error(`patch failed: HTTP ${res.status}: ${await res.text()}`);
      },
      replaceAs: async (manager, ref, edit) => {
        const object = api.get(ref);
        if (object === undefined) throw new Error(`no object ${ref.kind} ${ref.name}`);
        edit(object);
        const res = await fetch(objectUrl(api.url, ref, manager), {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(object),
        });
        if (!res.ok) throw new Error(`replace failed: HTTP ${res.status}: ${await res.text()}`);
      },
      makeAvailable: async (ref) => {
        const generation = metadataOf(api.get(ref)!)?.generation;
        api.setStatus(ref, { observedGeneration: generation, replicas: 1, updatedReplicas: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        api.setStatus(ref, {
          observedGeneration: generation,
          replicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          availableReplicas: 1,
        });
      },
    };
  });

  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  kubernetesScenarios({ it, expect, eventually }, () => target);
});
