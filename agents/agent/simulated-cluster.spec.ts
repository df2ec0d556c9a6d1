import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeploymentOptions } from '../../libs/contracts/index.js';
import type { KubeObject } from '../../libs/manifests/index.js';
import { SIMULATED_FAILURE_MESSAGE, SimulatedCluster } from './index.js';

const R1 = '1'.repeat(64);
const R2 = '2'.repeat(64);
const opts = (o: Partial<DeploymentOptions> = {}): DeploymentOptions => ({
  correctDrift: false,
  keepResources: false,
  forceConflicts: false,
  ...o,
});

const cm = (name: string, data: Record<string, string> = {}, namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: namespace === undefined ? { name } : { name, namespace },
  data,
});
const ns = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});
const workload = (
  kind: string,
  name: string,
  annotations: Record<string, string> = {},
  spec: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
  kind,
  metadata: { name, annotations },
  spec: { template: { spec: { containers: [{ name, image: `${name}:1` }] } }, ...spec },
});

describe('SimulatedCluster', () => {
  let sim: SimulatedCluster;
  let changes: string[];

  beforeEach(() => {
    vi.useFakeTimers();
    sim = new SimulatedCluster();
    changes = [];
    sim.onChange((bundle) => changes.push(bundle));
  });

  afterEach(async () => {
    await sim.close();
    vi.useRealTimers();
  });

  describe('apply, prune and inventory', () => {
    it('creates in apply order, fills the default namespace and marks ownership', async () => {
      const result = await sim.apply(
        'demo/web',
        R1,
        [cm('settings'), ns('shop'), cm('other', {}, 'x')],
        opts({ defaultNamespace: 'shop' }),
      );
      expect(result).toEqual({
        created: ['v1/Namespace//shop', 'v1/ConfigMap/shop/settings', 'v1/ConfigMap/x/other'],
        configured: [],
        unchanged: [],
        pruned: [],
      });
      const live = sim.liveObject('v1/ConfigMap/shop/settings')!;
      expect(live.metadata).toMatchObject({
        name: 'settings',
        namespace: 'shop',
        annotations: { 'flotilla.dev/bundle': 'demo/web', 'flotilla.dev/revision': R1 },
        labels: { 'app.kubernetes.io/managed-by': 'flotilla' },
        generation: 1,
      });
      expect(
        (sim.liveObject('v1/Namespace//shop')!.metadata as { namespace?: string }).namespace,
      ).toBeUndefined();
      expect(await sim.heldBundles()).toEqual([
        { bundle: 'demo/web', revision: R1, options: opts({ defaultNamespace: 'shop' }) },
      ]);
    });

    it('puts namespaced objects without a namespace and without a default in "default"', async () => {
      await sim.apply('b', R1, [cm('a')], opts());
      expect(sim.liveKeys()).toEqual(['v1/ConfigMap/default/a']);
    });

    it('leaves the objects it was given untouched', async () => {
      const object = cm('a');
      const copy = structuredClone(object);
      await sim.apply('b', R1, [object], opts({ defaultNamespace: 'shop' }));
      expect(object).toEqual(copy);
    });

    it.each<
      [
        string,
        KubeObject[],
        { created: string[]; configured: string[]; unchanged: string[]; pruned: string[] },
      ]
    >([
      [
        'the same revision again changes nothing',
        [cm('a', { k: '1' }), cm('b')],
        {
          created: [],
          configured: [],
          unchanged: ['v1/ConfigMap/default/a', 'v1/ConfigMap/default/b'],
          pruned: [],
        },
      ],
      [
        'a changed object is configured',
        [cm('a', { k: '2' }), cm('b')],
        {
          created: [],
          configured: ['v1/ConfigMap/default/a'],
          unchanged: ['v1/ConfigMap/default/b'],
          pruned: [],
        },
      ],
      [
        'an object no longer in the bundle is pruned, a new one created',
        [cm('a', { k: '1' }), cm('c')],
        {
          created: ['v1/ConfigMap/default/c'],
          configured: [],
          unchanged: ['v1/ConfigMap/default/a'],
          pruned: ['v1/ConfigMap/default/b'],
        },
      ],
      [
        'an empty bundle prunes everything',
        [],
        {
          created: [],
          configured: [],
          unchanged: [],
          pruned: ['v1/ConfigMap/default/b', 'v1/ConfigMap/default/a'],
        },
      ],
    ])('re-applying: %s', async (_name, second, expected) => {
      await sim.apply('b', R1, [cm('a', { k: '1' }), cm('b')], opts());
      expect(await sim.apply('b', R1, second, opts())).toEqual(expected);
    });

    it('configures every object for a new revision (its annotation changes)', async () => {
      await sim.apply('b', R1, [cm('a')], opts());
      const result = await sim.apply('b', R2, [cm('a')], opts());
      expect(result.configured).toEqual(['v1/ConfigMap/default/a']);
      expect((await sim.heldBundles())[0]?.revision).toBe(R2);
    });

    it('never prunes objects of another bundle', async () => {
      await sim.apply('one', R1, [cm('a')], opts());
      await sim.apply('two', R1, [cm('b')], opts());
      await sim.apply('one', R2, [], opts());
      expect(sim.liveKeys()).toEqual(['v1/ConfigMap/default/b']);
    });

    it('does not take over an object another bundle applied, and applies the rest', async () => {
      await sim.apply('one', R1, [cm('shared', { from: 'one' })], opts());
      const result = await sim.apply('two', R1, [cm('shared', { from: 'two' }), cm('own')], opts());
      expect(result.created).toEqual(['v1/ConfigMap/default/own']);
      expect(result.failed).toEqual([
        'v1/ConfigMap/default/shared: already applied by bundle "one"',
      ]);
      expect(sim.liveObject('v1/ConfigMap/default/shared')!.data).toEqual({ from: 'one' });
      expect(await sim.bundleStatus('two')).toMatchObject({
        state: 'ErrApplied',
        message: 'ConfigMap shared: already applied by bundle "one"',
      });
      expect((await sim.bundleStatus('one'))?.state).toBe('Ready');
    });
  });

  describe('invalid content', () => {
    it.each<[string, unknown[], RegExp]>([
      [
        'an object without kind',
        [{ apiVersion: 'v1', metadata: { name: 'x' } }],
        /object 1: no kind/,
      ],
      [
        'an object without metadata.name',
        [cm('ok'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }],
        /object 2: ConfigMap without metadata.name/,
      ],
      ['the same object twice', [cm('a'), cm('a')], /ConfigMap a appears more than once/],
      [
        'an unknown outcome',
        [workload('Deployment', 'web', { 'sim.flotilla.dev/outcome': 'maybe' })],
        /Deployment web: sim.flotilla.dev\/outcome must be ready, fail or never-ready/,
      ],
      [
        'a bad ready-after',
        [workload('Deployment', 'web', { 'sim.flotilla.dev/ready-after': 'soon' })],
        /"soon" is not a duration/,
      ],
    ])(
      'refuses %s as a whole, leaving the last revision live and other bundles alone',
      async (_name, objects, message) => {
        await sim.apply('b', R1, [cm('kept')], opts());
        await sim.apply('other', R1, [cm('theirs')], opts());
        const result = await sim.apply('b', R2, objects as KubeObject[], opts());
        expect(result).toEqual({ created: [], configured: [], unchanged: [], pruned: [] });
        const status = await sim.bundleStatus('b');
        expect(status?.state).toBe('ErrApplied');
        expect(status?.revision).toBe(R2);
        expect(status?.message).toMatch(/^invalid bundle content, nothing applied: /);
        expect(status?.message).toMatch(message);
        expect(sim.liveKeys()).toEqual([
          'v1/ConfigMap/default/kept',
          'v1/ConfigMap/default/theirs',
        ]);
        expect((await sim.bundleStatus('other'))?.state).toBe('Ready');
      },
    );
  });

  describe('health', () => {
    it('makes a Deployment Ready after the default 1 s, telling listeners', async () => {
      await sim.apply(
        'b',
        R1,
        [cm('a'), workload('Deployment', 'web', {}, { replicas: 2 })],
        opts(),
      );
      expect(await sim.bundleStatus('b')).toEqual({
        revision: R1,
        state: 'NotReady',
        message: 'Deployment web: 0/2 replicas available',
        resources: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: 'default',
            name: 'a',
            state: 'Ready',
            message: '',
          },
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            namespace: 'default',
            name: 'web',
            state: 'NotReady',
            message: '0/2 replicas available',
          },
        ],
      });
      vi.advanceTimersByTime(999);
      expect(changes).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(changes).toEqual(['b']);
      expect(await sim.bundleStatus('b')).toMatchObject({ state: 'Ready', message: '' });
    });

    it.each<[string, KubeObject, number, string]>([
      [
        'a StatefulSet',
        workload('StatefulSet', 'db', { 'sim.flotilla.dev/ready-after': '500ms' }, { replicas: 3 }),
        500,
        'StatefulSet db: 0/3 replicas ready',
      ],
      [
        'a DaemonSet',
        workload('DaemonSet', 'agent', { 'sim.flotilla.dev/ready-after': '2s' }),
        2_000,
        'DaemonSet agent: 0/1 scheduled pods ready',
      ],
      [
        'a Job',
        workload('Job', 'migrate', { 'sim.flotilla.dev/ready-after': '1.5s' }),
        1_500,
        'Job migrate: 0/1 completions',
      ],
      [
        'an annotated ConfigMap',
        {
          ...cm('slow'),
          metadata: { name: 'slow', annotations: { 'sim.flotilla.dev/ready-after': '300ms' } },
        },
        300,
        'ConfigMap slow: not ready',
      ],
    ])('makes %s Ready after its ready-after', async (_name, object, delayMs, waiting) => {
      await sim.apply('b', R1, [object], opts());
      expect(await sim.bundleStatus('b')).toMatchObject({ state: 'NotReady', message: waiting });
      vi.advanceTimersByTime(delayMs - 1);
      expect((await sim.bundleStatus('b'))?.state).toBe('NotReady');
      vi.advanceTimersByTime(1);
      expect((await sim.bundleStatus('b'))?.state).toBe('Ready');
      expect(changes).toEqual(['b']);
    });

    it('makes other kinds Ready at once', async () => {
      await sim.apply('b', R1, [ns('shop'), cm('a', {}, 'shop')], opts());
      expect((await sim.bundleStatus('b'))?.state).toBe('Ready');
    });

    it.each<[string, string, number, { state: string; message: string }]>([
      ['ready is Ready after the delay', 'ready', 200, { state: 'Ready', message: '' }],
      [
        'fail is NotReady during the delay, then Failed and ErrApplied, naming the resource',
        'fail',
        200,
        { state: 'ErrApplied', message: `Deployment web: ${SIMULATED_FAILURE_MESSAGE}` },
      ],
      [
        'never-ready stays NotReady',
        'never-ready',
        3_600_000,
        { state: 'NotReady', message: 'Deployment web: 0/1 replicas available' },
      ],
    ])('outcome %s', async (_name, outcome, wait, expected) => {
      await sim.apply(
        'b',
        R1,
        [
          workload('Deployment', 'web', {
            'sim.flotilla.dev/outcome': outcome,
            'sim.flotilla.dev/ready-after': '200ms',
          }),
        ],
        opts(),
      );
      expect(await sim.bundleStatus('b')).toMatchObject({
        state: 'NotReady',
        message: 'Deployment web: 0/1 replicas available',
      });
      vi.advanceTimersByTime(wait);
      expect(await sim.bundleStatus('b')).toMatchObject(expected);
      expect(changes).toEqual(outcome === 'never-ready' ? [] : ['b']);
    });

    it('fails a non-workload with outcome fail at once (no delay)', async () => {
      await sim.apply(
        'b',
        R1,
        [
          {
            ...cm('bad'),
            metadata: { name: 'bad', annotations: { 'sim.flotilla.dev/outcome': 'fail' } },
          },
        ],
        opts(),
      );
      expect(await sim.bundleStatus('b')).toMatchObject({
        state: 'ErrApplied',
        message: `ConfigMap bad: ${SIMULATED_FAILURE_MESSAGE}`,
      });
    });

    it('restarts the readiness delay when the spec changes, not when only the revision does', async () => {
      await sim.apply('b', R1, [workload('Deployment', 'web')], opts());
      vi.advanceTimersByTime(1_000);
      expect((await sim.bundleStatus('b'))?.state).toBe('Ready');

      await sim.apply('b', R2, [workload('Deployment', 'web')], opts());
      expect((await sim.bundleStatus('b'))?.state).toBe('Ready');
      expect(sim.liveObject('apps/v1/Deployment/default/web')!.metadata).toMatchObject({
        generation: 1,
      });

      await sim.apply('b', R1, [workload('Deployment', 'web', {}, { replicas: 3 })], opts());
      expect(await sim.bundleStatus('b')).toMatchObject({
        state: 'NotReady',
        message: 'Deployment web: 0/3 replicas available',
      });
      expect(sim.liveObject('apps/v1/Deployment/default/web')!.metadata).toMatchObject({
        generation: 2,
      });
      vi.advanceTimersByTime(1_000);
      expect((await sim.bundleStatus('b'))?.state).toBe('Ready');
    });

    it('names at most five resources in the message and counts the rest', async () => {
      const deployments = Array.from({ length: 7 }, (_, i) => workload('Deployment', `d${i}`));
      await sim.apply('b', R1, deployments, opts());
      expect((await sim.bundleStatus('b'))?.message).toBe(
        [0, 1, 2, 3, 4].map((i) => `Deployment d${i}: 0/1 replicas available`).join('; ') +
          '; and 2 more',
      );
    });

    it('tells listeners only about the bundle whose health changed, once per change', async () => {
      await sim.apply(
        'slow',
        R1,
        [workload('Deployment', 'a', { 'sim.flotilla.dev/ready-after': '2s' })],
        opts(),
      );
      await sim.apply(
        'fast',
        R1,
        [
          workload('Deployment', 'b', { 'sim.flotilla.dev/ready-after': '1s' }),
          workload('Deployment', 'c', { 'sim.flotilla.dev/ready-after': '1s' }),
        ],
        opts(),
      );
      vi.advanceTimersByTime(1_000);
      expect(changes).toEqual(['fast', 'fast']);
      vi.advanceTimersByTime(1_000);
      expect(changes).toEqual(['fast', 'fast', 'slow']);
    });

    it('stops telling a listener that unsubscribed', async () => {
      const heard: string[] = [];
      const unsubscribe = sim.onChange((b) => heard.push(b));
      unsubscribe();
      await sim.apply('b', R1, [workload('Deployment', 'web')], opts());
      vi.advanceTimersByTime(1_000);
      expect(heard).toEqual([]);
      expect(changes).toEqual(['b']);
    });

    it('shows an object deleted behind its back as Missing', async () => {
      await sim.apply('b', R1, [cm('a')], opts());
      sim.deleteLiveObject('v1/ConfigMap/default/a');
      expect(await sim.bundleStatus('b')).toMatchObject({
        state: 'NotReady',
        message: 'ConfigMap a: not found in the cluster',
      });
      expect(changes).toEqual(['b']);
    });

    it('lets a test edit a live object (for drift)', async () => {
      await sim.apply('b', R1, [cm('a', { k: '1' })], opts());
      sim.editLiveObject('v1/ConfigMap/default/a', (o) => {
        o.data = { k: 'edited' };
      });
      expect(sim.liveObject('v1/ConfigMap/default/a')!.data).toEqual({ k: 'edited' });
      expect((await sim.apply('b', R1, [cm('a', { k: '1' })], opts())).configured).toEqual([
        'v1/ConfigMap/default/a',
      ]);
    });

    it('reports an out-of-band edit as Modified with the drifted fields, until applied again', async () => {
      await sim.apply('b', R1, [cm('a', { k: '1', same: 'x' })], opts());
      sim.editLiveObject('v1/ConfigMap/default/a', (o) => {
        o.data = { k: 'edited', same: 'x' };
      });
      const status = await sim.bundleStatus('b');
      expect(status).toMatchObject({
        state: 'Modified',
        message: 'ConfigMap a: modified: data.k: "1" → "edited"',
      });
      expect(status?.resources[0]?.drift).toEqual([
        { path: 'data.k', desired: '"1"', live: '"edited"' },
      ]);
      await sim.apply('b', R1, [cm('a', { k: '1', same: 'x' })], opts());
      expect((await sim.bundleStatus('b'))?.resources[0]?.drift).toBeUndefined();
    });

    it("leaves the fields Fleet's comparePatches name out of drift (an HPA's spec.replicas)", async () => {
      const web = workload(
        'Deployment',
        'web',
        { 'sim.flotilla.dev/ready-after': '0s' },
        { replicas: 3 },
      );
      const options = opts({
        comparePatches: [
          {
            kind: 'Deployment',
            name: 'web',
            operations: [{ op: 'remove', path: '/spec/replicas' }],
          },
        ],
      });
      await sim.apply('b', R1, [web], options);
      sim.editLiveObject('apps/v1/Deployment/default/web', (o) => {
        (o.spec as Record<string, unknown>).replicas = 5;
      });
      expect(await sim.bundleStatus('b')).toMatchObject({ state: 'Ready' });
      sim.editLiveObject('apps/v1/Deployment/default/web', (o) => {
        (o.metadata as { annotations: Record<string, string> }).annotations.team = 'ops';
      });
      expect((await sim.bundleStatus('b'))?.resources[0]).toMatchObject({ state: 'Ready' });
      sim.editLiveObject('apps/v1/Deployment/default/web', (o) => {
        const spec = o.spec as { template: { spec: { containers: { image: string }[] } } };
        spec.template.spec.containers[0]!.image = 'web:2';
      });
      expect((await sim.bundleStatus('b'))?.resources[0]).toMatchObject({
        state: 'Modified',
        drift: [
          { path: 'spec.template.spec.containers[0].image', desired: '"web:1"', live: '"web:2"' },
        ],
      });
    });
  });

  describe('remove', () => {
    it('deletes the bundle objects and forgets the bundle', async () => {
      await sim.apply(
        'b',
        R1,
        [ns('shop'), cm('a', {}, 'shop'), workload('Deployment', 'web')],
        opts(),
      );
      await sim.apply('other', R1, [cm('theirs')], opts());
      await sim.remove('b', { keepResources: false });
      expect(sim.liveKeys()).toEqual(['v1/ConfigMap/default/theirs']);
      expect(await sim.bundleStatus('b')).toBeUndefined();
      expect((await sim.heldBundles()).map((h) => h.bundle)).toEqual(['other']);
      vi.advanceTimersByTime(5_000);
      expect(changes).toEqual([]);
    });

    it('keeps the objects with keepResources, no longer owned', async () => {
      await sim.apply('b', R1, [cm('a')], opts());
      await sim.remove('b', { keepResources: true });
      expect(sim.liveKeys()).toEqual(['v1/ConfigMap/default/a']);
      expect(await sim.heldBundles()).toEqual([]);
      expect((await sim.apply('c', R1, [cm('a')], opts())).configured).toEqual([
        'v1/ConfigMap/default/a',
      ]);
      expect((await sim.bundleStatus('c'))?.state).toBe('Ready');
    });

    it('does nothing for a bundle it does not hold', async () => {
      await expect(sim.remove('nope', { keepResources: false })).resolves.toBeUndefined();
    });
  });

  describe("Fleet's namespaceLabels, namespaceAnnotations and deleteNamespace", () => {
    const labels = (key: string): unknown =>
      (sim.liveObject(key)?.metadata as { labels?: unknown } | undefined)?.labels;

    it("makes sure the bundle's namespace exists with them, merged over its own labels and another bundle's", async () => {
      await sim.apply(
        'a',
        R1,
        [cm('x')],
        opts({
          defaultNamespace: 'shop',
          namespaceLabels: { team: 'a' },
          namespaceAnnotations: { note: 'n' },
        }),
      );
      expect(sim.liveObject('v1/Namespace//shop')?.metadata).toMatchObject({
        name: 'shop',
        labels: { team: 'a' },
        annotations: { note: 'n' },
      });
      expect(sim.liveKeys()).toEqual(['v1/ConfigMap/shop/x', 'v1/Namespace//shop']);
      expect((await sim.bundleStatus('a'))?.state).toBe('Ready');

      const own: KubeObject = { ...ns('shop'), metadata: { name: 'shop', labels: { own: 'y' } } };
      await sim.apply(
        'b',
        R1,
        [own],
        opts({ defaultNamespace: 'shop', namespaceLabels: { tier: 'web' } }),
      );
      expect(labels('v1/Namespace//shop')).toMatchObject({ team: 'a', own: 'y', tier: 'web' });
    });

    it.each([
      {
        name: 'deleteNamespace: true deletes the namespace and what is left in it',
        options: { deleteNamespace: true },
        keepResources: false,
        left: ['v1/ConfigMap/default/elsewhere'],
      },
      {
        name: 'without deleteNamespace the namespace stays (Fleet keeps it)',
        options: {},
        keepResources: false,
        left: ['v1/ConfigMap/default/elsewhere', 'v1/ConfigMap/shop/theirs', 'v1/Namespace//shop'],
      },
      {
        name: 'keepResources keeps the namespace too',
        options: { deleteNamespace: true, keepResources: true },
        keepResources: true,
        left: [
          'v1/ConfigMap/default/elsewhere',
          'v1/ConfigMap/shop/mine',
          'v1/ConfigMap/shop/theirs',
          'v1/Namespace//shop',
        ],
      },
    ])('$name', async ({ options, keepResources, left }) => {
      const shop = opts({ defaultNamespace: 'shop', namespaceLabels: { team: 'a' }, ...options });
      await sim.apply('mine', R1, [cm('mine')], shop);
      await sim.apply('theirs', R1, [cm('theirs', {}, 'shop'), cm('elsewhere')], opts());
      await sim.remove('mine', { keepResources });
      expect(sim.liveKeys()).toEqual(left);
    });

    it('never deletes default or a system namespace', async () => {
      for (const name of ['default', 'kube-system']) {
        await sim.apply(
          name,
          R1,
          [cm(`in-${name}`)],
          opts({ defaultNamespace: name, deleteNamespace: true, namespaceLabels: { a: 'b' } }),
        );
        await sim.remove(name, { keepResources: false });
      }
      expect(sim.liveKeys()).toEqual(['v1/Namespace//default', 'v1/Namespace//kube-system']);
    });
  });

  it('refuses work once closed, and reports its version until then', async () => {
    expect(await sim.kubernetesVersion()).toMatch(/flotilla-sim/);
    await sim.close();
    await expect(sim.apply('b', R1, [], opts())).rejects.toThrow(/closed/);
    await expect(sim.kubernetesVersion()).rejects.toThrow(/closed/);
  });
});
