import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeObject, ObjectRef } from '../../libs/manifests/index.js';
import { eventually } from '../../libs/testing/eventually.js';
import { kubernetesScenarios, type KubeScenarioTarget } from './kubernetes-scenarios.js';

/** A real cluster to run the driver scenarios against; the suite is skipped without one. */
const kubeconfigPath = process.env.FLOTILLA_TEST_KUBECONFIG ?? '';

describe.skipIf(kubeconfigPath === '')('KubernetesCluster against a real cluster', () => {
  let client: KubernetesObjectApi | undefined;
  const api = (): KubernetesObjectApi => {
    if (client === undefined) {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      client = KubernetesObjectApi.makeApiClient(kc);
    }
    return client;
  };
  const header = (ref: ObjectRef) => ({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata:
      ref.namespace === undefined
        ? { name: ref.name }
        : { name: ref.name, namespace: ref.namespace },
  });
  const target: KubeScenarioTarget = {
    kubeconfigPath,
    get: async (ref) => {
      try {
        return JSON.parse(JSON.stringify(await api().read(header(ref)))) as KubeObject;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    editAs: async (manager, ref, edit) => {
      const live = await target.get(ref);
      if (live === undefined) throw new Error(`no ${ref.kind} ${ref.name}`);
      const edited = structuredClone(live);
      edit(edited);
      const { metadata: _m, status: _s, ...fields } = edited;
      await api().patch(
        { ...fields, ...header(ref) },
        undefined,
        undefined,
        manager,
        true,
        PatchStrategy.ServerSideApply,
      );
    },
    // The cluster's Deployment controller makes it available (the image is registry.k8s.io/pause).
    makeAvailable: () => Promise.resolve(),
  };

  kubernetesScenarios({ it, expect, eventually }, () => target, { readyTimeoutMs: 180_000 });
});
