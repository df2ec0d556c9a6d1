import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../manifests/index.js';
import { applyDefaults } from './kube-defaults.js';

const ctx = { allocateClusterIP: () => '10.0.0.7' };
const defaulted = (object: KubeObject): KubeObject => {
  const copy = structuredClone(object);
  applyDefaults(copy, ctx);
  return copy;
};
const pod = (containers: Record<string, unknown>[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers },
});
const containerOf = (o: KubeObject): Record<string, unknown> =>
  (o.spec as { containers: Record<string, unknown>[] }).containers[0]!;

// The cases the recorded responses (testdata/k8s-observed) do not show; the real API server's
// rules (pkg/apis/core/v1/defaults.go).
describe('applyDefaults', () => {
  it.each<[string, string, string]>([
    ['an image without a tag is pulled Always', 'nginx', 'Always'],
    ['an image tagged latest is pulled Always', 'registry:5000/team/nginx:latest', 'Always'],
    ['a tagged image is pulled IfNotPresent', 'registry:5000/team/nginx:1.27', 'IfNotPresent'],
    ['an image by digest is pulled IfNotPresent', 'nginx@sha256:abc', 'IfNotPresent'],
  ])('%s', (_n, image, policy) => {
    expect(containerOf(defaulted(pod([{ name: 'c', image }]))).imagePullPolicy).toBe(policy);
  });

  it('keeps what the object sets', () => {
    const c = {
      name: 'c',
      image: 'nginx',
      imagePullPolicy: 'Never',
      ports: [{ containerPort: 53, protocol: 'UDP' }],
    };
    expect(containerOf(defaulted(pod([c])))).toMatchObject({
      imagePullPolicy: 'Never',
      ports: [{ containerPort: 53, protocol: 'UDP' }],
    });
  });

  it('an ExternalName Service gets no ClusterIP and no IP families', () => {
    const spec = defaulted({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { type: 'ExternalName', externalName: 'example.com' },
    }).spec;
    expect(spec).toEqual({
      type: 'ExternalName',
      externalName: 'example.com',
      sessionAffinity: 'None',
    });
  });

  it('a headless Service keeps clusterIP None', () => {
    const spec = defaulted({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { clusterIP: 'None', ports: [{ port: 80 }] },
    }).spec;
    expect(spec).toMatchObject({
      clusterIP: 'None',
      clusterIPs: ['None'],
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    });
  });

  it('a Job template gets no restartPolicy (it must set one)', () => {
    const job = defaulted({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'x:1' }] } } },
    });
    const spec = (job.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(spec.restartPolicy).toBeUndefined();
    expect(spec.dnsPolicy).toBe('ClusterFirst');
  });

  it('a Recreate Deployment gets no rollingUpdate', () => {
    const d = defaulted({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { strategy: { type: 'Recreate' }, template: { spec: { containers: [] } } },
    });
    expect((d.spec as Record<string, unknown>).strategy).toEqual({ type: 'Recreate' });
  });

  it('leaves kinds it does not know as they are', () => {
    const widget = {
      apiVersion: 'x.io/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { ports: [{ port: 1 }] },
    };
    expect(defaulted(widget)).toEqual(widget);
  });
});
