import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import {
  connect,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONTENT_CHUNK_BYTES,
  ContentRequestSchema,
  StatusMessageSchema,
  reportsOf,
  SyncRequestSchema,
  createSubjects,
  type DeploymentOptions,
  type DesiredState,
  type StatusReport,
  type Subjects,
  type SyncRequest,
} from '../../libs/contracts/index.js';
import type { KubeObject } from '../../libs/manifests/index.js';
import { eventually, testNatsUrl, testSubjectPrefix } from '../../libs/testing/index.js';
import {
  PayloadSigner,
  SIGNATURE_HEADER,
  contentDigest,
  generateSigningKeyPair,
} from '../../libs/contracts/signing.js';

/** The fake hub's signing key; the agent pins its public half at bootstrap. */
const hubKeys = generateSigningKeyPair();
const hubSigner = new PayloadSigner(hubKeys.privateKeyPem);
import {
  SIMULATED_FAILURE_MESSAGE,
  SimulatedCluster,
  startAgent,
  type Applier,
  type ClusterDriver,
  type RunningAgent,
} from './index.js';

type Upsert = Extract<DesiredState, { kind: 'Upsert' }>;

const OPTIONS: DeploymentOptions = {
  defaultNamespace: 'shop',
  correctDrift: false,
  keepResources: false,
  forceConflicts: false,
};

/** A revision as the hub would store it: content-addressed JSON, split in chunks. */
interface Revision {
  revision: string;
  content: Buffer;
  chunks: number;
}

function revisionOf(objects: KubeObject[], options = OPTIONS): Revision {
  const content = Buffer.from(JSON.stringify(objects));
  const revision = createHash('sha256')
    .update(content)
    .update(JSON.stringify(options))
    .digest('hex');
  return {
    revision,
    content,
    chunks: Math.max(1, Math.ceil(content.length / CONTENT_CHUNK_BYTES)),
  };
}

const deployment = (name: string, annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name,
    annotations: { 'sim.flotilla.dev/ready-after': '100ms', ...annotations },
  },
  spec: { replicas: 1, template: { spec: { containers: [{ name, image: `${name}:1` }] } } },
});
const configMap = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

/** The hub's side of NATS for one cluster: sync and content responders, desired-state publishing. */
class FakeHubNats {
  readonly revisions = new Map<string, Revision>();
  /** What the hub wants the cluster to run: bundle → Upsert. */
  readonly desired = new Map<string, Upsert>();
  readonly syncRequests: SyncRequest[] = [];
  readonly contentRequests: { revision: string; chunk: number }[] = [];
  /** Content requests for these revisions get no answer (to keep a fetch in progress). */
  readonly stall = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly cluster: string,
  ) {
    nc.subscribe(subjects.sync(cluster), { callback: (_err, msg) => this.onSync(msg) });
    nc.subscribe(subjects.content(cluster), { callback: (_err, msg) => this.onContent(msg) });
  }

  /** Makes `revision` of `bundle` desired, without telling the agent. */
  want(bundle: string, revision: Revision, options = OPTIONS): Upsert {
    this.revisions.set(revision.revision, revision);
    const upsert: Upsert = {
      kind: 'Upsert',
      bundle,
      revision: revision.revision,
      commit: 'c0ffee',
      options,
      size: revision.content.length,
      chunks: revision.chunks,
      contentSha256: contentDigest(revision.content),
    };
    this.desired.set(bundle, upsert);
    return upsert;
  }

  /** The newest sequence number this fake hub gave a payload. */
  seq = 0;

  /** A change or `{changes}` in the signed envelope the hub sends: this cluster, the next number. */
  envelope(message: unknown, envelope: { cluster?: string; seq?: number } = {}): unknown {
    if (typeof message !== 'object' || message === null) return message;
    const head = {
      cluster: envelope.cluster ?? this.cluster,
      seq: envelope.seq ?? ++this.seq,
      issuedAt: new Date().toISOString(),
    };
    return 'changes' in message ? { ...head, ...message } : { ...head, changes: [message] };
  }

  /**
   * Publishes a desired-state message (or anything else) to the agent, in the hub's envelope
   * unless `raw`; returns what it published, to publish it again.
   */
  send(
    message: unknown,
    {
      sign = true,
      signatureOf,
      raw = false,
      envelope,
    }: {
      sign?: boolean;
      signatureOf?: unknown;
      raw?: boolean;
      envelope?: { cluster?: string; seq?: number };
    } = {},
  ): { data: Uint8Array; headers: MsgHdrs } {
    const text = (m: unknown) => (typeof m === 'string' ? m : JSON.stringify(m));
    const data = new TextEncoder().encode(text(raw ? message : this.envelope(message, envelope)));
    const h = headers();
    if (sign) {
      const signed = signatureOf === undefined ? data : text(this.envelope(signatureOf));
      h.set(
        SIGNATURE_HEADER,
        hubSigner.sign(typeof signed === 'string' ? new TextEncoder().encode(signed) : signed),
      );
    }
    this.nc.publish(this.subjects.desired(this.cluster), data, { headers: h });
    return { data, headers: h };
  }

  /** Publishes captured bytes again, as anyone who saw them on the wire could. */
  republish(sent: { data: Uint8Array; headers: MsgHdrs }): void {
    this.nc.publish(this.subjects.desired(this.cluster), sent.data, { headers: sent.headers });
  }

  contentFetches(revision: Revision): number[] {
    return this.contentRequests.filter((r) => r.revision === revision.revision).map((r) => r.chunk);
  }

  private onSync(msg: Msg): void {
    const request = SyncRequestSchema.parse(msg.json());
    this.syncRequests.push(request);
    const held = new Map(request.held.map((h) => [h.bundle, h.revision]));
    const changes: DesiredState[] = [];
    for (const [bundle, upsert] of this.desired) {
      if (held.get(bundle) !== upsert.revision) changes.push(upsert);
    }
    for (const bundle of held.keys()) {
      if (!this.desired.has(bundle)) changes.push({ kind: 'Remove', bundle });
    }
    const reply = new TextEncoder().encode(
      JSON.stringify({
        cluster: this.cluster,
        seq: ++this.seq,
        issuedAt: new Date().toISOString(),
        changes,
      }),
    );
    const h = headers();
    h.set(SIGNATURE_HEADER, hubSigner.sign(reply));
    msg.respond(reply, { headers: h });
  }

  private onContent(msg: Msg): void {
    const request = ContentRequestSchema.parse(msg.json());
    this.contentRequests.push(request);
    if (this.stall.has(request.revision)) return;
    const revision = this.revisions.get(request.revision);
    if (revision === undefined) {
      const h = headers();
      h.set('Flotilla-Error', 'unknown revision');
      msg.respond('', { headers: h });
      return;
    }
    const start = request.chunk * CONTENT_CHUNK_BYTES;
    msg.respond(revision.content.subarray(start, start + CONTENT_CHUNK_BYTES));
  }
}

/** A driver that lends the agent a simulated cluster which outlives it (for restarts). */
function borrowed(sim: SimulatedCluster): ClusterDriver & Applier {
  return {
    kind: 'simulated',
    kubernetesVersion: () => sim.kubernetesVersion(),
    close: () => Promise.resolve(),
    apply: (bundle, revision, objects, options) => sim.apply(bundle, revision, objects, options),
    remove: (bundle, options) => sim.remove(bundle, options),
    bundleStatus: (bundle) => sim.bundleStatus(bundle),
    heldBundles: () => sim.heldBundles(),
    onChange: (listener) => sim.onChange(listener),
  };
}

describe('delivery', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const agents: RunningAgent[] = [];
  let http: Server;
  let stateDir: string;
  let nc: NatsConnection;
  let subjects: Subjects;
  let prefix: string;
  let cluster: string;
  let hub: FakeHubNats;
  let reports: StatusReport[];
  let lines: string[];
  let logger: Logger;

  beforeEach(async () => {
    prefix = testSubjectPrefix();
    subjects = createSubjects(prefix);
    cluster = `c${randomBytes(3).toString('hex')}`;
    stateDir = await mkdtemp(join(tmpdir(), 'flotilla-delivery-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));

    http = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const ok = req.method === 'POST' && req.url === '/api/v1/agent/bootstrap';
        res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            ok
              ? {
                  cluster,
                  natsUrl: testNatsUrl(),
                  subjectPrefix: prefix,
                  heartbeatIntervalMs: 5_000,
                  hubPublicKey: hubKeys.publicKeyPem,
                }
              : { statusCode: 404, error: 'Not Found', message: 'no route' },
          ),
        );
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));

    nc = await connect({ servers: testNatsUrl() });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const stream = `T_STATUS_${randomBytes(5).toString('hex')}`;
    await jsm.streams.add({ name: stream, subjects: [subjects.allStatus()] });
    cleanups.push(() => jsm.streams.delete(stream));
    reports = [];
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages: ConsumerMessages = await consumer.consume();
    cleanups.push(() => messages.close());
    void (async () => {
      for await (const m of messages)
        reports.push(...reportsOf(StatusMessageSchema.parse(m.json())));
    })();

    hub = new FakeHubNats(nc, subjects, cluster);
    await nc.flush();
    lines = [];
    logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(driver: ClusterDriver): Promise<RunningAgent> {
    const agent = await startAgent({
      hubUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      token: 'fla_delivery',
      driver,
      stateDir,
      logger,
    });
    agents.push(agent);
    return agent;
  }

  /** The (state, revision, message) sequence reported for a bundle. */
  const reported = (bundle: string) => reports.filter((r) => r.bundle === bundle);
  const states = (bundle: string) => reported(bundle).map((r) => r.state);
  const last = (bundle: string) => reported(bundle).at(-1);

  async function until(bundle: string, state: StatusReport['state']): Promise<StatusReport> {
    const report = await eventually(
      `bundle ${bundle} reported ${state}`,
      () => last(bundle),
      (r) => r?.state === state,
    );
    return report!;
  }

  it('fetches an Upsert in chunks (once for two bundles), applies it, reports WaitApplied → NotReady → Ready', async () => {
    const sim = new SimulatedCluster();
    const big = Array.from({ length: 3 }, (_, i) =>
      configMap(`blob-${i}`, { data: 'x'.repeat(500_000) }),
    );
    const rev = revisionOf([...big, deployment('web')]);
    expect(rev.chunks).toBe(3);
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    expect(hub.syncRequests[0]).toEqual({ held: [] });

    hub.send(hub.want('demo/web', rev));
    hub.send(hub.want('demo/copy', rev));
    const ready = await until('demo/web', 'Ready');
    // The same revision for a second bundle: fetched once; its objects belong to the first bundle.
    const copy = await until('demo/copy', 'ErrApplied');
    expect(copy.message).toContain('Deployment web: already applied by bundle "demo/web"');
    // An apply that left objects out is logged as a failure, not as "bundle applied" (each time
    // it is tried again).
    const logged = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string; bundle?: string })
      .filter((l) => l.bundle === 'demo/copy' && l.msg.startsWith('bundle applied'));
    expect(logged.length).toBeGreaterThan(0);
    expect(new Set(logged.map((l) => `${l.level} ${l.msg}`))).toEqual(
      new Set(['50 bundle applied with failures']),
    );

    expect(ready).toMatchObject({
      cluster,
      revision: rev.revision,
      message: '',
      resources: expect.any(Array),
    });
    expect(ready.resources.map((r) => `${r.kind} ${r.name} ${r.state}`)).toEqual([
      'ConfigMap blob-0 Ready',
      'ConfigMap blob-1 Ready',
      'ConfigMap blob-2 Ready',
      'Deployment web Ready',
    ]);
    expect(states('demo/web')).toEqual(['WaitApplied', 'NotReady', 'Ready']);
    expect(reported('demo/web').every((r) => r.revision === rev.revision)).toBe(true);
    expect(reported('demo/web')[1]?.message).toBe('Deployment web: 0/1 replicas available');
    expect(hub.contentFetches(rev).sort()).toEqual([0, 1, 2]);
    expect(sim.liveObject('v1/ConfigMap/shop/blob-2')?.data).toEqual({ data: 'x'.repeat(500_000) });
  });

  it('reports a failing Deployment ErrApplied, naming it, while another bundle goes Ready', async () => {
    const sim = new SimulatedCluster();
    hub.want(
      'bad',
      revisionOf([configMap('cfg'), deployment('web', { 'sim.flotilla.dev/outcome': 'fail' })]),
    );
    hub.want('good', revisionOf([deployment('api')]));
    await start(sim);

    const bad = await until('bad', 'ErrApplied');
    expect(bad.message).toBe(`Deployment web: ${SIMULATED_FAILURE_MESSAGE}`);
    expect(bad.resources.find((r) => r.name === 'web')).toMatchObject({ state: 'Failed' });
    await until('good', 'Ready');
    expect(states('bad')).toEqual(['WaitApplied', 'NotReady', 'ErrApplied']);
  });

  it('removes a bundle on Remove and reports Removed', async () => {
    const sim = new SimulatedCluster();
    hub.want('gone', revisionOf([configMap('a'), deployment('web')]));
    await start(sim);
    await until('gone', 'Ready');
    expect(sim.liveKeys()).toHaveLength(2);

    hub.desired.delete('gone');
    hub.send({ kind: 'Remove', bundle: 'gone' });
    const removed = await until('gone', 'Removed');
    expect(removed).toMatchObject({ revision: null, message: '', resources: [] });
    expect(sim.liveKeys()).toEqual([]);
    expect(await sim.heldBundles()).toEqual([]);
  });

  it('an object another bundle owns is applied once that bundle is removed (a bundle renamed before its old name is removed)', async () => {
    const sim = new SimulatedCluster();
    const rev = revisionOf([configMap('shop')]);
    hub.want('shop/shop', rev);
    await start(sim);
    await until('shop/shop', 'Ready');

    // The new name is applied first: its ConfigMap still belongs to the old name.
    hub.send(hub.want('shop/apps/shop', rev));
    const refused = await until('shop/apps/shop', 'ErrApplied');
    expect(refused.message).toContain('ConfigMap shop: already applied by bundle "shop/shop"');
    hub.desired.delete('shop/shop');
    hub.send({ kind: 'Remove', bundle: 'shop/shop' });
    await until('shop/shop', 'Removed');
    const ready = await until('shop/apps/shop', 'Ready');
    expect(ready.revision).toBe(rev.revision);
    expect(await sim.heldBundles()).toEqual([
      expect.objectContaining({ bundle: 'shop/apps/shop', revision: rev.revision }),
    ]);
    expect(sim.liveKeys()).toEqual(['v1/ConfigMap/shop/shop']);
  });

  it('resyncs with what it holds after a restart, and applies only what the hub says differs', async () => {
    const sim = new SimulatedCluster();
    cleanups.push(() => sim.close());
    const a1 = revisionOf([configMap('a', { v: '1' })]);
    const b1 = revisionOf([configMap('b')]);
    hub.want('a', a1);
    hub.want('b', b1);
    const c1 = revisionOf([configMap('c')]);
    hub.want('c', c1);
    const first = await start(borrowed(sim));
    await until('a', 'Ready');
    await until('b', 'Ready');
    await until('c', 'Ready');
    await first.stop();
    const bVersion = (
      sim.liveObject('v1/ConfigMap/shop/b')?.metadata as { resourceVersion: string }
    ).resourceVersion;

    const a2 = revisionOf([configMap('a', { v: '2' })]);
    hub.want('a', a2);
    hub.desired.delete('c');
    const before = reports.length;
    await start(borrowed(sim));
    await eventually(
      'a at the new revision',
      () => last('a'),
      (r) => r?.state === 'Ready' && r.revision === a2.revision,
    );
    await until('c', 'Removed');

    const resync = hub.syncRequests.at(-1)!;
    expect(resync.held.sort((x, y) => x.bundle.localeCompare(y.bundle))).toEqual([
      { bundle: 'a', revision: a1.revision },
      { bundle: 'b', revision: b1.revision },
      { bundle: 'c', revision: c1.revision },
    ]);
    expect(hub.contentFetches(b1)).toEqual([0]);
    expect(hub.contentFetches(a2)).toEqual([0]);
    expect(sim.liveObject('v1/ConfigMap/shop/a')?.data).toEqual({ v: '2' });
    expect(
      (sim.liveObject('v1/ConfigMap/shop/b')?.metadata as { resourceVersion: string })
        .resourceVersion,
    ).toBe(bVersion);
    // b was not applied again: after the restart it is only reported, as it is.
    expect(
      reports
        .slice(before)
        .filter((r) => r.bundle === 'b')
        .map((r) => r.state),
    ).toEqual(['Ready']);
  });

  it('applies every change of one message in order; inline content needs no fetch and is refused when it does not match its digest', async () => {
    const sim = new SimulatedCluster();
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    const inline = (bundle: string, rev: Revision): Upsert => ({
      ...hub.want(bundle, rev),
      content: rev.content.toString('utf8'),
    });
    const a1 = revisionOf([configMap('a', { v: '1' })]);
    const a2 = revisionOf([configMap('a', { v: '2' })]);
    const b = revisionOf([configMap('b')]);
    const forged = revisionOf([configMap('forged')]);
    const tampered = inline('forged', forged);
    // Same size, other bytes: only the digest the hub signed tells.
    tampered.content = tampered.content!.replace('forged', 'FORGED');
    hub.send({ changes: [inline('a', a1), tampered, inline('b', b), inline('a', a2)] });

    const a = await eventually(
      'a at its second revision',
      () => last('a'),
      (r) => r?.state === 'Ready' && r.revision === a2.revision,
    );
    expect(a!.revision).toBe(a2.revision);
    await until('b', 'Ready');
    const refused = await until('forged', 'ErrApplied');
    expect(refused.message).toContain('does not match the digest the hub signed');
    expect(sim.liveObject('v1/ConfigMap/shop/a')?.data).toEqual({ v: '2' });
    expect(sim.liveKeys().some((k) => /forged/i.test(k))).toBe(false);
    expect(hub.contentRequests).toEqual([]);
  });

  it('skips malformed desired-state messages and goes on with the next', async () => {
    const sim = new SimulatedCluster();
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    hub.send('not json at all');
    hub.send({ kind: 'Upsert', bundle: 'broken' });
    hub.send({
      kind: 'Upsert',
      bundle: 'x',
      revision: 'not-a-hash',
      commit: 'c',
      options: {},
      size: 1,
      chunks: 1,
    });
    hub.send(hub.want('fine', revisionOf([configMap('ok')])));
    await until('fine', 'Ready');
    expect(
      lines.filter((l) => l.includes('skipping a malformed desired-state message')),
    ).toHaveLength(3);
    expect(reported('broken')).toEqual([]);
    expect(reported('x')).toEqual([]);
  });

  it('refuses desired state that is unsigned or tampered with, and applies what the hub signed', async () => {
    const sim = new SimulatedCluster();
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n >= 1,
    );
    const evil = hub.want('evil', revisionOf([configMap('evil')]));
    hub.send(evil, { sign: false });
    const genuine = hub.want('genuine', revisionOf([configMap('genuine')]));
    // A valid signature, but of another message: the payload was tampered with on the way.
    hub.send({ ...genuine, bundle: 'tampered' }, { signatureOf: genuine });
    hub.send(genuine);
    await until('genuine', 'Ready');
    expect(reported('evil')).toEqual([]);
    expect(reported('tampered')).toEqual([]);
    expect(sim.liveKeys().some((k) => k.includes('/evil'))).toBe(false);
    expect(lines.filter((l) => l.includes('refusing a desired-state message'))).toHaveLength(2);
  });

  it('abandons a fetch when a newer Upsert for the bundle arrives', async () => {
    const sim = new SimulatedCluster();
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    const slow = revisionOf([configMap('a', { v: 'slow' })]);
    hub.stall.add(slow.revision);
    hub.send(hub.want('web', slow));
    await eventually(
      'the slow fetch started',
      () => hub.contentFetches(slow).length,
      (n) => n > 0,
    );
    const fast = revisionOf([configMap('a', { v: 'fast' })]);
    hub.send(hub.want('web', fast));
    const ready = await until('web', 'Ready');
    expect(ready.revision).toBe(fast.revision);
    expect(sim.liveObject('v1/ConfigMap/shop/a')?.data).toEqual({ v: 'fast' });
    expect(states('web')).toEqual(['WaitApplied', 'WaitApplied', 'Ready']);
  });
  it('refuses a signed desired state for another cluster', async () => {
    const sim = new SimulatedCluster();
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    const rev = revisionOf([configMap('elsewhere')]);
    hub.send(
      { ...hub.want('elsewhere', rev), content: rev.content.toString('utf8') },
      { envelope: { cluster: 'another-cluster' } },
    );
    const marker = revisionOf([configMap('marker')]);
    hub.send({ ...hub.want('marker', marker), content: marker.content.toString('utf8') });
    await until('marker', 'Ready');
    expect(reported('elsewhere')).toEqual([]);
    expect(sim.liveKeys().some((k) => k.includes('/elsewhere'))).toBe(false);
    expect(
      lines.filter((l) => l.includes('the payload is for cluster \\"another-cluster\\"')),
    ).toHaveLength(1);
  });

  it('a captured older desired state published again does not roll the bundle back', async () => {
    const sim = new SimulatedCluster();
    await start(sim);
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    const inline = (bundle: string, rev: Revision): Upsert => ({
      ...hub.want(bundle, rev),
      content: rev.content.toString('utf8'),
    });
    const v2 = revisionOf([configMap('web', { v: '2' })]);
    const v3 = revisionOf([configMap('web', { v: '3' })]);
    const captured = hub.send(inline('web', v2));
    await eventually(
      'web at v2',
      () => last('web'),
      (r) => r?.state === 'Ready' && r.revision === v2.revision,
    );
    hub.send(inline('web', v3));
    await eventually(
      'web at v3',
      () => last('web'),
      (r) => r?.state === 'Ready' && r.revision === v3.revision,
    );
    const before = reported('web').length;

    hub.republish(captured);
    // Messages are handled in order: once the marker is Ready, the replay was looked at.
    const marker = revisionOf([configMap('marker')]);
    hub.send(inline('marker', marker));
    await until('marker', 'Ready');
    expect(reported('web').slice(before)).toEqual([]);
    expect(sim.liveObject('v1/ConfigMap/shop/web')?.data).toEqual({ v: '3' });
    expect(
      lines.filter((l) => l.includes('refusing desired states older than ones already accepted')),
    ).toHaveLength(1);
  });

  it('an agent restarted with nothing remembered takes the current desired state from its sync', async () => {
    const sim = new SimulatedCluster();
    const first = await start(borrowed(sim));
    await eventually(
      'the first sync',
      () => hub.syncRequests.length,
      (n) => n === 1,
    );
    const v1 = revisionOf([configMap('web', { v: '1' })]);
    hub.send({ ...hub.want('web', v1), content: v1.content.toString('utf8') });
    await eventually(
      'web at v1',
      () => last('web'),
      (r) => r?.state === 'Ready' && r.revision === v1.revision,
    );
    await first.stop();
    // The hub's numbers went far on meanwhile; the new agent knows none of them.
    hub.seq += 1000;
    const v2 = revisionOf([configMap('web', { v: '2' })]);
    hub.want('web', v2);
    await start(borrowed(sim));
    await eventually(
      'web at v2 after the sync',
      () => last('web'),
      (r) => r?.state === 'Ready' && r.revision === v2.revision,
    );
    expect(sim.liveObject('v1/ConfigMap/shop/web')?.data).toEqual({ v: '2' });
  });
});
