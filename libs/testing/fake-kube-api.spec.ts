import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPlainObject, type KubeObject } from '../manifests/index.js';
import { FakeKubeApi } from './fake-kube-api.js';
import { observedFixtures, observedResponse } from './k8s-observed.js';

/**
 * The fake answers the requests of `testdata/k8s-observed/README.md` as the real kube-apiserver
 * v1.36.2 did (its recorded responses), field by field, up to what differs on every server: uid,
 * resourceVersion, timestamps and the allocated ClusterIP.
 */
const observed = observedResponse;

/** The response without what differs on every server (values replaced by their presence). */
function comparable(body: unknown): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  const meta = isPlainObject(copy.metadata) ? copy.metadata : {};
  for (const field of ['uid', 'resourceVersion', 'creationTimestamp']) {
    if (field in meta) meta[field] = typeof meta[field];
  }
  if (Array.isArray(meta.managedFields)) {
    for (const entry of meta.managedFields as Record<string, unknown>[]) {
      entry.time = typeof entry.time === 'string' && /Z$/.test(entry.time) ? 'time' : entry.time;
    }
  }
  const spec = isPlainObject(copy.spec) ? copy.spec : {};
  if (typeof spec.clusterIP === 'string') spec.clusterIP = 'allocated';
  if (Array.isArray(spec.clusterIPs)) spec.clusterIPs = spec.clusterIPs.map(() => 'allocated');
  return copy;
}

const { service, deployment } = observedFixtures();
const configMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cm' },
  data: { color: 'blue', size: '1' },
};

describe('FakeKubeApi answers like a real kube-apiserver', () => {
  let api: FakeKubeApi;
  const send = async (
    path: string,
    body: unknown,
    contentType = 'application/apply-patch+yaml',
  ): Promise<{ status: number; body: KubeObject }> => {
    const res = await fetch(`${api.url}${path}`, {
      method: 'PATCH',
      headers: { 'content-type': contentType },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as KubeObject };
  };
  const apply = (plural: string, object: KubeObject, query = ''): ReturnType<typeof send> => {
    const base = object.apiVersion === 'v1' ? '/api/v1' : `/apis/${String(object.apiVersion)}`;
    const name = (object.metadata as { name: string }).name;
    return send(
      `${base}/namespaces/obs/${plural}/${name}?fieldManager=flotilla-agent${query}`,
      object,
    );
  };

  beforeAll(async () => {
    api = await FakeKubeApi.start();
    await send('/api/v1/namespaces/obs?fieldManager=setup', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'obs' },
    });
  });
  afterAll(() => api.close());

  it('a Service: protocol, targetPort, type, ClusterIP, IP families defaulted; its port keyed with the protocol', async () => {
    const res = await apply('services', service);
    expect(res.status).toBe(201);
    expect(comparable(res.body)).toEqual(comparable(observed('01-service-ssa-response.json')));
  });

  it('a Deployment: strategy, pod and container defaults; containers, env and ports keyed', async () => {
    const res = await apply('deployments', deployment);
    expect(res.status).toBe(201);
    expect(comparable(res.body)).toEqual(comparable(observed('02-deployment-ssa-response.json')));
  });

  it('a ConfigMap is stored as applied', async () => {
    const res = await apply('configmaps', configMap);
    expect(res.status).toBe(201);
    expect(comparable(res.body)).toEqual(comparable(observed('03-configmap-ssa-response.json')));
  });

  it('a merge patch by another manager takes the field it changed (operation Update)', async () => {
    const res = await send(
      '/api/v1/namespaces/obs/configmaps/cm?fieldManager=kubectl-patch',
      { data: { color: 'red' } },
      'application/merge-patch+json',
    );
    expect(res.status).toBe(200);
    expect(comparable(res.body)).toEqual(
      comparable(observed('04-configmap-after-other-manager-patch.json')),
    );
  });

  it('re-applying the field without force is a 409 naming the field and the manager', async () => {
    const res = await apply('configmaps', configMap);
    expect(res.status).toBe(409);
    expect(res.body).toEqual(observed('05-configmap-ssa-conflict-response.json'));
  });

  it('with force=true the applier takes the field back', async () => {
    const res = await apply('configmaps', configMap, '&force=true');
    expect(res.status).toBe(200);
    expect(comparable(res.body)).toEqual(
      comparable(observed('06-configmap-ssa-force-response.json')),
    );
  });

  it('a dry run answers the object and stores nothing', async () => {
    const before = api.get({ apiVersion: 'v1', kind: 'Service', namespace: 'obs', name: 'api' });
    const same = await apply('services', service, '&dryRun=All');
    expect(same.status).toBe(200);
    expect(comparable(same.body)).toEqual(
      comparable(observed('07-service-ssa-dryrun-response.json')),
    );
    const changed = await apply(
      'services',
      { ...service, spec: { ...(service.spec as object), ports: [{ port: 81 }] } },
      '&dryRun=All',
    );
    expect(changed.status).toBe(200);
    expect((changed.body.spec as { ports: unknown }).ports).toEqual([
      { port: 81, protocol: 'TCP', targetPort: 81 },
    ]);
    expect(api.get({ apiVersion: 'v1', kind: 'Service', namespace: 'obs', name: 'api' })).toEqual(
      before,
    );
  });

  it('a PUT by another manager takes the fields it changed (operation Update); a stale resourceVersion is a 409', async () => {
    const cm = { ...configMap, metadata: { name: 'put-cm' } };
    expect((await apply('configmaps', cm)).status).toBe(201);
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'obs', name: 'put-cm' };
    const live = api.get(ref)!;
    const put = (object: unknown) =>
      fetch(`${api.url}/api/v1/namespaces/obs/configmaps/put-cm?fieldManager=kubectl-replace`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(object),
      });
    const { managedFields: _omitted, ...metadata } = live.metadata as Record<string, unknown>;
    const res = await put({ ...live, metadata, data: { color: 'blue', size: '2' } });
    expect(res.status).toBe(200);
    const replaced = (await res.json()) as KubeObject;
    expect(replaced.data).toEqual({ color: 'blue', size: '2' });
    const owners = Object.fromEntries(
      (replaced.metadata as { managedFields: Record<string, unknown>[] }).managedFields.map((e) => [
        `${String(e.manager)} ${String(e.operation)}`,
        e.fieldsV1,
      ]),
    );
    expect(owners).toEqual({
      'flotilla-agent Apply': { 'f:data': { 'f:color': {} } },
      'kubectl-replace Update': { 'f:data': { 'f:size': {} } },
    });
    expect(
      Number((replaced.metadata as { resourceVersion: string }).resourceVersion),
    ).toBeGreaterThan(Number((live.metadata as { resourceVersion: string }).resourceVersion));
    // The version read before is stale now: the API server's optimistic concurrency.
    const stale = await put({ ...live, data: { color: 'green' } });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ reason: 'Conflict', code: 409 });
    const renamed = await put({ ...replaced, metadata: { name: 'other' } });
    expect(renamed.status).toBe(400);
    expect(api.get(ref)!.data).toEqual({ color: 'blue', size: '2' });
  });

  it('conflicts on list-map items name the item by its key, and a forced apply merges by key', async () => {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'obs', name: 'api' };
    api.editAs('kubectl-edit', ref, (o) => {
      const spec = (o.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
        .template.spec;
      spec.containers[0]!.image = 'nginx:1.28';
    });
    const res = await apply('deployments', deployment);
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.template.spec.containers[name="api"].image',
    );
    const forced = await apply('deployments', deployment, '&force=true');
    expect(forced.status).toBe(200);
    const containers = (
      forced.body.spec as { template: { spec: { containers: Record<string, unknown>[] } } }
    ).template.spec.containers;
    expect(containers).toHaveLength(1);
    expect(containers[0]).toMatchObject({
      image: 'nginx:1.27',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      imagePullPolicy: 'IfNotPresent',
    });
    expect(
      (forced.body.metadata as { managedFields: { manager: string }[] }).managedFields.map(
        (e) => e.manager,
      ),
    ).toEqual(['flotilla-agent']);
  });

  it('an item of a keyed list the applier no longer applies goes; one another manager added stays', async () => {
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'obs', name: 'api' };
    const withEnv = (env: { name: string; value: string }[]): KubeObject => {
      const copy = structuredClone(deployment);
      (
        copy.spec as { template: { spec: { containers: { env?: unknown }[] } } }
      ).template.spec.containers[0]!.env = env;
      return copy;
    };
    const envOf = (o: KubeObject | undefined): unknown =>
      (o?.spec as { template: { spec: { containers: { env?: unknown }[] } } }).template.spec
        .containers[0]!.env;
    await apply(
      'deployments',
      withEnv([
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]),
    );
    api.editAs('kubectl-edit', ref, (o) => {
      (envOf(o) as unknown[]).push({ name: 'C', value: '3' });
    });
    const res = await apply('deployments', withEnv([{ name: 'A', value: '1' }]));
    expect(res.status).toBe(200);
    expect(envOf(res.body)).toEqual([
      { name: 'A', value: '1' },
      { name: 'C', value: '3' },
    ]);
  });
});
