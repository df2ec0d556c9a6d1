import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeObject, ObjectRef } from '../../libs/manifests/index.js';
import { eventually } from '../../libs/testing/eventually.js';
import { kubernetesScenarios, type KubeScenarioTarget } from './kubernetes-scenarios.js';

/**
 * The driver scenarios against a real cluster; skipped unless `FLOTILLA_TEST_KUBECONFIG` names a
 * kubeconfig. The identity needs what the agent chart's RBAC grants (see `deploy/`).
 *
 * - The Deployment scenarios wait for Deployments to become Available: the cluster must run
 *   pods (a node with a container runtime that can pull `registry.k8s.io/pause:3.10`). A bare
 *   kube-apiserver with kube-controller-manager but no node leaves them NotReady, and those
 *   scenarios time out.
 * - Each run uses its own namespace, bundle names and CRD group, all starting with
 *   `FLOTILLA_TEST_PREFIX` (default `flotilla-test-<random>`), and looks only at its own
 *   inventories in `flotilla-system`, so runs may share a cluster with each other and with agents.
 * - The suite has its own timeouts (vitest's global 30 s is too short for a real cluster):
 *   `FLOTILLA_TEST_READY_TIMEOUT_MS` (default 180 s) for a Deployment to become available, and
 *   `FLOTILLA_TEST_TIMEOUT_MS` (default 300 s) for each scenario.
 */
const kubeconfigPath = process.env.FLOTILLA_TEST_KUBECONFIG ?? '';
const readyTimeoutMs = Number(process.env.FLOTILLA_TEST_READY_TIMEOUT_MS ?? 180_000);
const testTimeoutMs = Number(process.env.FLOTILLA_TEST_TIMEOUT_MS ?? 300_000);
const prefix = process.env.FLOTILLA_TEST_PREFIX || undefined;

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
    // `kubectl patch --type=merge --field-manager=<manager>`: an Update by another manager.
    patchAs: async (manager, ref, patch) => {
      await api().patch(
        { ...patch, ...header(ref) },
        undefined,
        undefined,
        manager,
        undefined,
        PatchStrategy.MergePatch,
      );
    },
    // `kubectl replace --field-manager=<manager>`: a PUT of the edited object, an Update.
    replaceAs: async (manager, ref, edit) => {
      const object = await target.get(ref);
      if (object === undefined) throw new Error(`no object ${ref.kind} ${ref.name}`);
      edit(object);
      await api().replace(
        object as Parameters<KubernetesObjectApi['replace']>[0],
        undefined,
        undefined,
        manager,
      );
    },
    // The cluster's Deployment controller makes it available (the image is registry.k8s.io/pause).
    makeAvailable: () => Promise.resolve(),
  };

  kubernetesScenarios({ it, expect, eventually }, () => target, {
    readyTimeoutMs,
    testTimeoutMs,
    ...(prefix === undefined ? {} : { prefix }),
  });
});
