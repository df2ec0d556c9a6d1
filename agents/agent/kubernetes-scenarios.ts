import type { ExpectStatic, TestAPI } from 'vitest';
import { pino } from 'pino';
import type { DeploymentOptions } from '../../libs/contracts/index.js';
import {
  BUNDLE_ANNOTATION,
  FLOTILLA_FIELD_MANAGER,
  isPlainObject,
  managedFieldsOf,
  metadataOf,
  type KubeObject,
  type ObjectRef,
} from '../../libs/manifests/index.js';
import { observedFixtures } from '../../libs/testing/k8s-observed.js';
import { KubernetesCluster } from './kubernetes-cluster.js';

/**
 * A Kubernetes API the driver scenarios run against: the wire-level fake or a real cluster.
 * Shared by `kubernetes-cluster.spec.ts`-style suites so both prove the same behaviour.
 */
export interface KubeScenarioTarget {
  kubeconfigPath: string;
  /** The live object, or undefined. */
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /**
   * Changes an object as another field manager does with `kubectl patch --type=merge` or
   * `kubectl edit`: a JSON merge patch sent with `fieldManager=manager` (an `Update`).
   */
  patchAs(manager: string, ref: ObjectRef, patch: Record<string, unknown>): Promise<void>;
  /**
   * Changes an object as another field manager does with `kubectl replace` or a controller's
   * update: reads it, edits it, and PUTs it back with `fieldManager=manager` (an `Update`).
   */
  replaceAs(manager: string, ref: ObjectRef, edit: (object: KubeObject) => void): Promise<void>;
  /** Makes a Deployment available (the fake sets its status; a real cluster's controller does). */
  makeAvailable(ref: ObjectRef): Promise<void>;
}

/** The test functions the scenarios use (passed in, so this module has no test runtime). */
export interface ScenarioTestApi {
  it: TestAPI;
  expect: ExpectStatic;
  eventually: <T>(
    description: string,
    probe: () => Promise<T> | T,
    predicate: (value: T) => boolean,
    options?: { timeoutMs?: number },
  ) => Promise<T>;
}

const REV = (n: number): string => String(n).repeat(64).slice(0, 64);

/** Options of {@link kubernetesScenarios}. */
export interface ScenarioOptions {
  /** How long a Deployment may take to become available (a real cluster runs pods); default 10 s. */
  readyTimeoutMs?: number;
  /** How long one scenario may take; default vitest's. */
  testTimeoutMs?: number;
  /**
   * Names of this run's namespace and bundles start with it (`flotilla-test-<random>` by
   * default), so runs against a shared cluster do not see each other's objects.
   */
  prefix?: string;
}

/**
 * The driver scenarios of issues 4 and 14, in order: apply in one pass, no-op re-apply, health
 * from watches, Services and container ports Ready (not Modified), prune by inventory, drift
 * reported, reverted with `correctDrift` (also inside a keyed list), an agent restart, and Fleet's
 * namespaceLabels, namespaceAnnotations and deleteNamespace.
 */
export function kubernetesScenarios(
  t: ScenarioTestApi,
  target: () => KubeScenarioTarget,
  {
    readyTimeoutMs = 10_000,
    testTimeoutMs,
    prefix = `flotilla-test-${Math.random().toString(36).slice(2, 8)}`,
  }: ScenarioOptions = {},
): void {
  const { expect, eventually } = t;
  const it = (name: string, fn: () => Promise<void>): void => {
    t.it(name, fn, testTimeoutMs);
  };
  const ns = prefix;
  const bundle = `scenarios/${prefix}`;
  const group = `${prefix}.scenarios.flotilla.dev`;
  const crdName = `widgets.${group}`;
  const ref = (apiVersion: string, kind: string, name: string, namespace?: string): ObjectRef =>
    namespace === undefined ? { apiVersion, kind, name } : { apiVersion, kind, namespace, name };
  const nsRef = ref('v1', 'Namespace', ns);
  const crdRef = ref('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crdName);
  const widgetRef = ref(`${group}/v1`, 'Widget', 'w1', ns);
  const aRef = ref('v1', 'ConfigMap', 'a', ns);
  const bRef = ref('v1', 'ConfigMap', 'b', ns);
  const webRef = ref('apps/v1', 'Deployment', 'web', ns);
  const apiServiceRef = ref('v1', 'Service', 'api', ns);
  const apiDeploymentRef = ref('apps/v1', 'Deployment', 'api', ns);
  const key = (r: ObjectRef): string => `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
  const corrected = { correctDrift: true } as const;

  /** A Service and a Deployment whose list items the API server keys on defaulted fields. */
  const withPorts = (): KubeObject[] => {
    const { service, deployment } = observedFixtures('registry.k8s.io/pause:3.10');
    return [service, deployment];
  };

  const portsOf = (o: KubeObject | undefined): unknown =>
    isPlainObject(o?.spec) ? o.spec.ports : undefined;

  const objects = (withA: boolean, withB = true): KubeObject[] => [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] },
        },
      },
    },
    ...(withA ? [cm('a', { greeting: 'hello' })] : []),
    ...(withB ? [cm('b', { color: 'blue' })] : []),
    { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group,
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  ];
  const cm = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data,
  });
  const options = (o: Partial<DeploymentOptions> = {}): DeploymentOptions => ({
    defaultNamespace: ns,
    correctDrift: false,
    keepResources: false,
    forceConflicts: false,
    ...o,
  });

  let cluster: KubernetesCluster | undefined;
  const changes: string[] = [];
  const open = (): KubernetesCluster => {
    const c = new KubernetesCluster({
      kubeconfigPath: target().kubeconfigPath,
      logger: pino({ level: 'silent' }),
    });
    c.onChange((b) => changes.push(b));
    return c;
  };
  const uidOf = async (r: ObjectRef): Promise<unknown> => metadataOf((await target().get(r))!)?.uid;
  const rvOf = async (r: ObjectRef): Promise<unknown> =>
    metadataOf((await target().get(r))!)?.resourceVersion;
  const all = [nsRef, crdRef, widgetRef, aRef, bRef, webRef];

  it('applies a Namespace, a CRD and its resource, two ConfigMaps and a Deployment in one pass', async () => {
    cluster = open();
    const result = await cluster.apply(bundle, REV(1), objects(true), options());
    expect(result.created).toEqual([crdRef, nsRef, webRef, aRef, bRef, widgetRef].map(key));
    expect(result.configured).toEqual([]);
    const status = await cluster.bundleStatus(bundle);
    expect(status?.state).not.toBe('ErrApplied');
    for (const r of all) {
      const live = await target().get(r);
      expect(live, key(r)).toBeDefined();
      expect(managedFieldsOf(live!).map((e) => e.manager)).toContain(FLOTILLA_FIELD_MANAGER);
      expect(metadataOf(live!)?.annotations).toMatchObject({ [BUNDLE_ANNOTATION]: bundle });
    }
  });

  it('re-applying the same revision changes nothing (same resourceVersions)', async () => {
    const before = await Promise.all(all.map(rvOf));
    const result = await cluster!.apply(bundle, REV(1), objects(true), options());
    expect(result.unchanged).toHaveLength(6);
    expect(result.created.length + result.configured.length + result.pruned.length).toBe(0);
    expect(await Promise.all(all.map(rvOf))).toEqual(before);
  });

  it('Deployment health goes from NotReady to Ready, from watch events', async () => {
    const first = await cluster!.bundleStatus(bundle);
    if (first?.state !== 'Ready') {
      expect(first?.state).toBe('NotReady');
      expect(first?.message).toMatch(/^Deployment web: /);
    }
    await target().makeAvailable(webRef);
    await eventually(
      'the bundle Ready',
      () => cluster!.bundleStatus(bundle),
      (s) => s?.state === 'Ready',
      { timeoutMs: readyTimeoutMs },
    );
    expect(changes).toContain(bundle);
  });

  it('prunes the ConfigMap removed from the bundle, and only it', async () => {
    const uids = await Promise.all([nsRef, crdRef, widgetRef, bRef, webRef].map(uidOf));
    const result = await cluster!.apply(bundle, REV(2), objects(false), options());
    expect(result.pruned).toEqual([key(aRef)]);
    await eventually(
      'ConfigMap a gone',
      () => target().get(aRef),
      (o) => o === undefined,
    );
    expect(await Promise.all([nsRef, crdRef, widgetRef, bRef, webRef].map(uidOf))).toEqual(uids);
  });

  it('a Service and a Deployment with ports and env stay Ready, not Modified', async () => {
    const portsBundle = `${bundle}-ports`;
    const result = await cluster!.apply(portsBundle, REV(1), withPorts(), options());
    expect(result.created).toEqual([key(apiServiceRef), key(apiDeploymentRef)]);
    const first = await cluster!.bundleStatus(portsBundle);
    expect(first?.resources.filter((r) => r.state === 'Modified')).toEqual([]);
    await target().makeAvailable(apiDeploymentRef);
    const ready = await eventually(
      'the bundle with ports Ready',
      () => cluster!.bundleStatus(portsBundle),
      (s) => s?.state !== 'NotReady',
      { timeoutMs: readyTimeoutMs },
    );
    expect(ready).toMatchObject({ state: 'Ready', message: '' });
    const again = await cluster!.apply(portsBundle, REV(1), withPorts(), options());
    expect(again.unchanged).toHaveLength(2);
    expect((await cluster!.bundleStatus(portsBundle))?.state).toBe('Ready');
  });

  it('with correctDrift, an edit inside a keyed list (a Service port) is reported, then reverted and reported', async () => {
    const portsBundle = `${bundle}-ports`;
    await target().patchAs('kubectl-patch', apiServiceRef, {
      spec: { ports: [{ port: 80, targetPort: 9090 }] },
    });
    const modified = await eventually(
      'the port edit reported',
      () => cluster!.bundleStatus(portsBundle),
      (s) => s?.state === 'Modified',
    );
    expect(modified?.message).toBe('Service api: modified: spec.ports[0].targetPort: 8080 → 9090');
    // The report names each drifted field with both values.
    expect(modified?.resources.find((r) => r.state === 'Modified')?.drift).toEqual([
      { path: 'spec.ports[0].targetPort', desired: '8080', live: '9090' },
    ]);
    await cluster!.apply(portsBundle, REV(1), withPorts(), options(corrected));
    expect(portsOf(await target().get(apiServiceRef))).toEqual([
      { port: 80, protocol: 'TCP', targetPort: 8080 },
    ]);
    expect(await cluster!.bundleStatus(portsBundle)).toMatchObject({
      state: 'Ready',
      message: 'reverted drift: Service api spec.ports[0].targetPort 9090 → 8080',
    });
    await target().patchAs('kubectl-patch', apiServiceRef, {
      spec: { ports: [{ port: 80, targetPort: 7070 }] },
    });
    const reverted = await eventually(
      'the port edit reverted',
      () => cluster!.bundleStatus(portsBundle),
      (s) => s?.message === 'reverted drift: Service api spec.ports[0].targetPort 7070 → 8080',
    );
    expect(reverted).toMatchObject({
      state: 'Ready',
      message: 'reverted drift: Service api spec.ports[0].targetPort 7070 → 8080',
    });
    expect(portsOf(await target().get(apiServiceRef))).toEqual([
      { port: 80, protocol: 'TCP', targetPort: 8080 },
    ]);
  });

  it('removes the bundle with ports', async () => {
    await cluster!.remove(`${bundle}-ports`, { keepResources: false });
    expect(await cluster!.bundleStatus(`${bundle}-ports`)).toBeUndefined();
  });

  /** Who owns what of the object: `manager operation` → fieldsV1. */
  const owners = async (r: ObjectRef): Promise<Record<string, unknown>> =>
    Object.fromEntries(
      managedFieldsOf((await target().get(r))!).map((e) => [
        `${e.manager} ${e.operation}`,
        e.fieldsV1,
      ]),
    );

  it('reports an edit of an applied field by another manager with PUT (kubectl replace) as Modified, with the drifted field', async () => {
    await target().replaceAs('kubectl-replace', bRef, (o) => {
      o.data = { color: 'yellow' };
    });
    // The API server moved the field to the manager that changed it.
    expect(await owners(bRef)).toMatchObject({
      'kubectl-replace Update': { 'f:data': { 'f:color': {} } },
    });
    expect((await owners(bRef))[`${FLOTILLA_FIELD_MANAGER} Apply`]).not.toMatchObject({
      'f:data': { 'f:color': {} },
    });
    const status = await eventually(
      'the bundle Modified',
      () => cluster!.bundleStatus(bundle),
      (s) => s?.state === 'Modified',
    );
    expect(status?.resources.find((r) => r.state === 'Modified')).toMatchObject({
      kind: 'ConfigMap',
      name: 'b',
      drift: [{ path: 'data.color', desired: '"blue"', live: '"yellow"' }],
    });
  });

  it('reports an edit of an applied field by another manager as Modified', async () => {
    await target().patchAs('kubectl-patch', bRef, { data: { color: 'red' } });
    const status = await eventually(
      'the bundle Modified with the patched value',
      () => cluster!.bundleStatus(bundle),
      (s) => s?.state === 'Modified' && s.message.includes('"red"'),
    );
    expect(status?.message).toBe('ConfigMap b: modified: data.color: "blue" → "red"');
    expect(status?.resources.find((r) => r.state === 'Modified')?.drift).toEqual([
      { path: 'data.color', desired: '"blue"', live: '"red"' },
    ]);
    // The field moved on to the last manager that changed it.
    expect(await owners(bRef)).toMatchObject({
      'kubectl-patch Update': { 'f:data': { 'f:color': {} } },
    });
    expect(await owners(bRef)).not.toHaveProperty(['kubectl-replace Update']);
  });

  it('refuses to take such an edit back without correctDrift (409 naming field and manager); with correctDrift alone takes it back, reverts the next and says so', async () => {
    // Without correctDrift or forceConflicts, the apply refuses to take the field back.
    await cluster!.apply(bundle, REV(3), objects(false), options());
    const refused = await cluster!.bundleStatus(bundle);
    expect(refused?.state).toBe('ErrApplied');
    expect(refused?.message).toMatch(
      /^ConfigMap b: .*HTTP 409: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: \.data\.color$/,
    );
    const result = await cluster!.apply(bundle, REV(3), objects(false), options(corrected));
    expect(result.configured).toContain(key(bRef));
    expect((await cluster!.bundleStatus(bundle))?.state).not.toBe('ErrApplied');
    expect((await target().get(bRef))?.data).toEqual({ color: 'blue' });
    expect((await cluster!.bundleStatus(bundle))?.message).toBe(
      'reverted drift: ConfigMap b data.color "red" → "blue"',
    );
    await target().patchAs('kubectl-patch', bRef, { data: { color: 'green' } });
    const status = await eventually(
      'the drift reverted',
      () => cluster!.bundleStatus(bundle),
      (s) => s?.message === 'reverted drift: ConfigMap b data.color "green" → "blue"',
    );
    expect(status?.state).toBe('Ready');
    expect(status?.message).toBe('reverted drift: ConfigMap b data.color "green" → "blue"');
    expect((await target().get(bRef))?.data).toEqual({ color: 'blue' });
  });

  it('a restarted agent neither re-creates nor orphans anything', async () => {
    const live = [nsRef, crdRef, widgetRef, bRef, webRef];
    const uids = await Promise.all(live.map(uidOf));
    await cluster!.close();
    cluster = open();
    expect((await cluster.heldBundles()).filter((h) => h.bundle === bundle)).toEqual([
      { bundle, revision: REV(3), options: options(corrected) },
    ]);
    expect((await cluster.bundleStatus(bundle))?.state).toBe('Ready');
    const again = await cluster.apply(bundle, REV(3), objects(false), options(corrected));
    expect(again.unchanged).toHaveLength(5);
    expect(await Promise.all(live.map(uidOf))).toEqual(uids);
    const pruned = await cluster.apply(bundle, REV(4), objects(false, false), options(corrected));
    expect(pruned.pruned).toEqual([key(bRef)]);
  });

  it('remove deletes everything of the bundle and forgets it', async () => {
    await cluster!.remove(bundle, { keepResources: false });
    expect((await cluster!.heldBundles()).filter((h) => h.bundle === bundle)).toEqual([]);
    expect(await cluster!.bundleStatus(bundle)).toBeUndefined();
    await eventually(
      'the CRD gone',
      () => target().get(crdRef),
      (o) => o === undefined,
      { timeoutMs: readyTimeoutMs },
    );
    await cluster!.close();
  });

  const labelled = `${prefix}-labelled`;
  const labelledRef = ref('v1', 'Namespace', labelled);
  const [first, second] = [`${bundle}-ns-first`, `${bundle}-ns-second`];
  const inLabelled = (o: Partial<DeploymentOptions>): DeploymentOptions =>
    options({ defaultNamespace: labelled, ...o });
  const nsMeta = async (): Promise<Record<string, unknown> | undefined> => {
    const live = await target().get(labelledRef);
    return live === undefined ? undefined : metadataOf(live);
  };

  it("namespaceLabels and namespaceAnnotations: the bundle's namespace is created with them, merged with another bundle's; a label dropped from namespaceLabels goes, the other bundle's stay", async () => {
    cluster = open();
    await cluster.apply(
      first,
      REV(1),
      [cm('first', { a: '1' })],
      inLabelled({
        namespaceLabels: { team: 'a', tier: 'web' },
        namespaceAnnotations: { note: 'n' },
      }),
    );
    expect((await cluster.bundleStatus(first))?.state).not.toBe('ErrApplied');
    expect((await target().get(ref('v1', 'ConfigMap', 'first', labelled)))?.data).toEqual({
      a: '1',
    });
    expect(await nsMeta()).toMatchObject({
      labels: { team: 'a', tier: 'web' },
      annotations: { note: 'n' },
    });
    await cluster.apply(
      second,
      REV(1),
      [cm('second', { b: '2' })],
      inLabelled({ namespaceLabels: { other: 'x' } }),
    );
    expect((await nsMeta())?.labels).toMatchObject({ team: 'a', tier: 'web', other: 'x' });
    await cluster.apply(
      first,
      REV(2),
      [cm('first', { a: '1' })],
      inLabelled({ namespaceLabels: { team: 'b' }, namespaceAnnotations: { note: 'n' } }),
    );
    const labels = (await nsMeta())?.labels as Record<string, string>;
    expect(labels).toMatchObject({ team: 'b', other: 'x' });
    expect(labels.tier).toBeUndefined();
  });

  it('without deleteNamespace a removed bundle leaves its namespace; with deleteNamespace: true the namespace goes with it', async () => {
    await cluster!.remove(second, { keepResources: false });
    expect(await target().get(ref('v1', 'ConfigMap', 'second', labelled))).toBeUndefined();
    expect(await nsMeta()).toBeDefined();
    await cluster!.apply(
      first,
      REV(3),
      [cm('first', { a: '1' })],
      inLabelled({ namespaceLabels: { team: 'b' }, deleteNamespace: true }),
    );
    await cluster!.remove(first, { keepResources: false });
    await eventually(
      'the namespace deleted',
      () => target().get(labelledRef),
      (o) => o === undefined || metadataOf(o)?.deletionTimestamp !== undefined,
      { timeoutMs: readyTimeoutMs },
    );
    await cluster!.close();
  });
}
