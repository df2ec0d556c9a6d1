import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type MsgHdrs, type NatsConnection, headers } from '@nats-io/transport-node';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  CONTENT_CHUNK_BYTES,
  type DeploymentOptions,
  DeploymentOptionsSchema,
  type DesiredState,
  INLINE_CONTENT_BYTES,
  type PayloadSigner,
  SIGNATURE_HEADER,
  type Subjects,
} from '../../libs/contracts/index.js';
import {
  AgentSequenceRepository,
  BundleRepository,
  type DesiredChange,
  DeploymentRepository,
} from '../../libs/db/index.js';
import {
  MAX_DESIRED_MESSAGE_BYTES,
  MessageTails,
  type ResendPolicy,
  ResendSchedule,
  desiredMessageBytes,
  memoizedParts,
  splitMessages,
} from '../../libs/delivery/index.js';
import type { TimerClock } from '../../libs/liveness/lease.js';
import { CLOCK, METRICS_REGISTRY, NATS_CONNECTION, SIGNER, SUBJECTS } from '../shared/tokens.js';

/**
 * Re-sending what agents did not acknowledge: first after 5 s without a report, then after
 * waits doubling up to a minute (each less up to half of it at random), per deployment; at most
 * 500 a tick (100 a second) over the whole fleet, however many are waiting.
 */
export const RESEND_POLICY: ResendPolicy = {
  firstMs: 5000,
  maxMs: 60_000,
  jitter: 0.5,
  perTick: 500,
};
/** How often unacknowledged deployments are looked at, and how many are read each time. */
const RESEND_TICK_MS = 5000;
const RESEND_PAGE = 5000;
/** Revisions kept in memory for content requests (many clusters fetch the same one). */
const CONTENT_CACHE = 64;
/** Remembered (cluster, revision) entitlements before the memory starts over. */
const ENTITLED_MAX = 500_000;
/** Longest a desired-state change waits for the delivery passes running beside it. */
const COALESCE_MS = 250;
/**
 * Messages signed (on the thread pool) and published together: while one chunk is published the
 * next is being signed, and between chunks the event loop serves heartbeats, reports and the API.
 */
const PUBLISH_CHUNK = 128;
/**
 * How long what a sync's delivery passes wrote waits for the sync's next bundle, and at most in
 * all, before it is sent without the rest (a sync whose end is never announced, a slow render).
 */
export const SYNC_HOLD = { quietMs: 2000, maxMs: 10_000 };
/** Ended syncs remembered, so a late announcement of one does not hold the outbox again. */
const SYNCS_ENDED_KEPT = 1000;

/**
 * Publishes desired state to the agents: changes the delivery passes committed go to an outbox,
 * sent as one signed message per cluster (split where it would grow past its size limit) once
 * no pass runs any more, each numbered in its cluster's sequence; what an online agent has not
 * acknowledged is re-sent, backing off per deployment, within a budget per tick
 * ({@link RESEND_POLICY}). It also turns changes into the messages agents read (options, sizes,
 * digests, small content inline), keeps the revisions' content in memory, and remembers which
 * cluster may fetch which revision.
 */
@Injectable()
export class DesiredStatePublisher implements OnApplicationBootstrap {
  private readonly logger = new Logger('DesiredStatePublisher');
  private readonly content = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  private readonly digests = new Map<string, string>();
  /** Clusters this replica sent each revision to, so content requests need no query. */
  private readonly entitled = new Map<string, Set<string>>();
  private entitledCount = 0;
  private resendTimer: unknown;
  private resending = true;
  private readonly schedule = new ResendSchedule(RESEND_POLICY);
  private readonly published: Counter;
  private readonly resent: Counter;
  private readonly fanout: Histogram;
  /**
   * When the delivery pass of each bundle with changes in the outbox was asked for (the earliest
   * one queued), in `performance.now()` milliseconds: observed as fan-out latency once sent.
   */
  private fanoutSince = new Map<string, number>();
  /**
   * Desired-state changes waiting to be sent, per cluster, in order: the changes of delivery
   * passes that run together (a commit touching ten bundles) reach each agent as one message.
   */
  private outbox = new Map<string, DesiredState[]>();
  private outboxTimer: NodeJS.Timeout | undefined;
  /** The flush publishing now (flushes publish one after another, in order). */
  private flushing: Promise<void> = Promise.resolve();
  /** Delivery passes running now (see {@link during}). */
  private passes = 0;
  /** Syncs whose bundles are being announced (see {@link hold}): when each stops waiting. */
  private readonly holds = new Map<string, { latest: number; timer: unknown }>();
  /**
   * When the oldest change in the outbox was queued (clock ms; undefined while it is empty), and
   * a timer at SYNC_HOLD.maxMs after it: syncs that overlap one another (many GitRepos, webhooks)
   * hold no change longer than that in all, whatever each of them holds.
   */
  private outboxSince: number | undefined;
  private outboxDeadline: unknown;
  private readonly syncsEnded = new Set<string>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(SIGNER) private readonly signer: PayloadSigner,
    private readonly deployments: DeploymentRepository,
    private readonly bundles: BundleRepository,
    private readonly sequences: AgentSequenceRepository,
    @Inject(CLOCK) private readonly clock: TimerClock,
  ) {
    this.published = new Counter({
      name: 'flotilla_desired_state_messages_total',
      help: 'Desired-state changes published to agents',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.resent = new Counter({
      name: 'flotilla_desired_state_resent_total',
      help: 'Desired-state messages sent again because the agent did not acknowledge them',
      registers: [registry],
    });
    this.fanout = new Histogram({
      name: 'flotilla_desired_state_fanout_seconds',
      help: "Time from a bundle's delivery being asked for (its targets written by a sync, a report, an operator action) to its desired-state messages being published",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    // Desired states can be lost in transit; whatever an agent has not acknowledged is re-sent.
    this.armResend();
  }

  /** The next re-send tick, RESEND_TICK_MS after the last one ended (ticks never overlap). */
  private armResend(): void {
    if (!this.resending) return;
    this.resendTimer = this.clock.setTimeout(() => {
      this.resendDue()
        .catch((err: unknown) => this.logger.error(`re-sending desired state: ${String(err)}`))
        .finally(() => this.armResend());
    }, RESEND_TICK_MS);
  }

  /**
   * Runs a delivery pass: what passes running together publish is sent when the last of them
   * ends (a burst of passes reaches each agent as one message).
   */
  async during<T>(pass: () => Promise<T>): Promise<T> {
    this.passes++;
    try {
      return await pass();
    } finally {
      if (--this.passes === 0 && !this.held()) void this.flush();
    }
  }

  /**
   * A sync announced one of its bundles: nothing is sent until it has announced the last one
   * and the passes of its bundles have run ({@link release}), so that an agent gets the whole
   * commit in one message. Without news of the sync for SYNC_HOLD.quietMs, or after
   * SYNC_HOLD.maxMs in all, the outbox is sent anyway.
   */
  hold(sync: string): void {
    if (this.syncsEnded.has(sync)) return;
    const now = this.clock.now();
    const hold = this.holds.get(sync);
    if (hold !== undefined) this.clock.clearTimeout(hold.timer);
    const latest = hold?.latest ?? now + SYNC_HOLD.maxMs;
    const timer = this.clock.setTimeout(
      () => this.release(sync),
      Math.max(0, Math.min(SYNC_HOLD.quietMs, latest - now)),
    );
    this.holds.set(sync, { latest, timer });
  }

  /** The sync's passes have run (or it waited long enough): its changes may go. */
  release(sync: string): void {
    this.syncsEnded.add(sync);
    if (this.syncsEnded.size > SYNCS_ENDED_KEPT)
      this.syncsEnded.delete(this.syncsEnded.values().next().value!);
    const hold = this.holds.get(sync);
    if (hold === undefined) return;
    this.clock.clearTimeout(hold.timer);
    this.holds.delete(sync);
    this.sendWhenIdle();
  }

  /**
   * True while a sync holds the outbox: some sync is not over, and the oldest queued change has
   * waited less than SYNC_HOLD.maxMs.
   */
  private held(): boolean {
    if (this.holds.size === 0) return false;
    return this.outboxSince === undefined || this.clock.now() - this.outboxSince < SYNC_HOLD.maxMs;
  }

  /** Sends the outbox now if no pass runs and no sync holds it, or after COALESCE_MS. */
  private sendWhenIdle(): void {
    if (this.held() || this.outbox.size === 0) return;
    if (this.passes === 0) void this.flush();
    else
      this.outboxTimer ??= setTimeout(() => {
        this.outboxTimer = undefined;
        if (!this.held()) void this.flush();
      }, COALESCE_MS);
  }

  /**
   * Queues committed changes for their clusters: sent when no delivery pass runs any more, or
   * after COALESCE_MS at the latest, once no sync holds them ({@link hold}). `since`
   * (`performance.now()` ms) is when the delivery pass that made them was asked for: the fan-out
   * latency is measured from it (re-sends give none).
   */
  async publish(changes: DesiredChange[], since?: number): Promise<void> {
    if (changes.length === 0) return;
    if (since !== undefined) {
      for (const bundle of new Set(changes.map((c) => c.bundle))) {
        const earliest = this.fanoutSince.get(bundle);
        if (earliest === undefined || since < earliest) this.fanoutSince.set(bundle, since);
      }
    }
    const messages = await this.toMessages(changes, Infinity);
    for (const [cluster, message] of messages) {
      const queued = this.outbox.get(cluster);
      if (queued === undefined) this.outbox.set(cluster, [message]);
      else queued.push(message);
    }
    if (this.outbox.size > 0 && this.outboxSince === undefined) {
      this.outboxSince = this.clock.now();
      this.outboxDeadline = this.clock.setTimeout(() => {
        this.outboxDeadline = undefined;
        this.sendWhenIdle();
      }, SYNC_HOLD.maxMs);
    }
    this.sendWhenIdle();
  }

  /**
   * Sends every queued change: one signed message per cluster, split where a message would grow
   * past its size limit, each numbered in its cluster's sequence (taken after the passes that
   * made the changes committed). When no numbers can be taken (PostgreSQL gone for a moment) the
   * changes are not sent; the agents do not acknowledge them, so they are re-sent later.
   */
  flush(): Promise<void> {
    clearTimeout(this.outboxTimer);
    this.outboxTimer = undefined;
    this.clock.clearTimeout(this.outboxDeadline);
    this.outboxDeadline = undefined;
    this.outboxSince = undefined;
    const outbox = this.outbox;
    this.outbox = new Map();
    const fanoutSince = this.fanoutSince;
    this.fanoutSince = new Map();
    if (outbox.size === 0) return this.flushing;
    // A change queued for many clusters is one object (see toMessages), serialized once here.
    const partOf = memoizedParts();
    const messages = new Map<string, string[][]>();
    const kinds = { Upsert: 0, Remove: 0 };
    for (const [cluster, changes] of outbox) {
      for (const change of changes) kinds[change.kind]++;
      messages.set(cluster, splitMessages(changes, MAX_DESIRED_MESSAGE_BYTES, partOf));
    }
    for (const [kind, n] of Object.entries(kinds)) if (n > 0) this.published.inc({ kind }, n);
    // Flushes publish in the order they were made: a later one's numbers are higher.
    const flush = this.flushing
      .then(async () => {
        let newest: Map<string, number>;
        try {
          newest = await this.sequences.take(
            new Map([...messages].map(([cluster, split]) => [cluster, split.length])),
          );
        } catch (err) {
          this.logger.error(`numbering desired state (re-sent later): ${String(err)}`);
          return;
        }
        await this.send(messages, newest, new Date().toISOString());
        const sent = performance.now();
        for (const since of fanoutSince.values()) this.fanout.observe((sent - since) / 1000);
      })
      .catch((err: unknown) => this.logger.error(`publishing desired state: ${String(err)}`));
    this.flushing = flush;
    return flush;
  }

  /**
   * Signs and publishes the messages of a flush, numbered from `newest` (each cluster's newest
   * number taken), in order, PUBLISH_CHUNK at a time: a chunk is signed on the thread pool while
   * the one before is published. Messages only differ in their envelope where clusters get the
   * same changes, so the rest of their bytes is encoded once ({@link MessageTails}).
   */
  private async send(
    messages: Map<string, string[][]>,
    newest: Map<string, number>,
    issuedAt: string,
  ): Promise<void> {
    const tails = new MessageTails();
    let chunk: { subject: string; data: Uint8Array }[] = [];
    let publishing: Promise<void> = Promise.resolve();
    const emit = async (): Promise<void> => {
      const ready = chunk;
      chunk = [];
      const signing = Promise.all(ready.map((m) => this.signer.signAsync(m.data)));
      // Awaited below; this keeps a failure of the chunk before from leaving it unhandled.
      signing.catch(() => undefined);
      await publishing;
      publishing = signing.then((signatures) => {
        ready.forEach((m, i) => {
          const h = headers();
          h.set(SIGNATURE_HEADER, signatures[i]!);
          this.nc.publish(m.subject, m.data, { headers: h });
        });
      });
    };
    for (const [cluster, split] of messages) {
      const subject = this.subjects.desired(cluster);
      let seq = newest.get(cluster)! - split.length;
      for (const parts of split) {
        const data = desiredMessageBytes({ cluster, seq: ++seq, issuedAt }, tails.of(parts));
        chunk.push({ subject, data });
        if (chunk.length >= PUBLISH_CHUNK) await emit();
      }
    }
    if (chunk.length > 0) await emit();
    await publishing;
  }

  /**
   * One re-send tick: reads the next page of deployments an online agent has not acknowledged
   * for RESEND_POLICY.firstMs and re-sends those whose back-off is over, within the tick's
   * budget (see {@link ResendSchedule}). Returns how many it re-sent.
   */
  async resendDue(): Promise<number> {
    const page = await this.deployments.unacknowledged(
      RESEND_POLICY.firstMs,
      RESEND_PAGE,
      this.schedule.cursor,
    );
    const due = this.schedule.take(page, RESEND_PAGE, this.clock.now());
    if (due.length === 0) return 0;
    this.resent.inc(due.length);
    await this.publish(due);
    return due.length;
  }

  /** `text` as bytes, with the hub's signature over them in the headers. */
  signedText(text: string): [Uint8Array, { headers: MsgHdrs }] {
    const data = new TextEncoder().encode(text);
    const h = headers();
    h.set(SIGNATURE_HEADER, this.signer.sign(data));
    return [data, { headers: h }];
  }

  /**
   * Desired-state messages for changes, with options, content sizes and digests filled in, and
   * the content itself for revisions of at most INLINE_CONTENT_BYTES while `inlineBudget`
   * (bytes, over all of them) lasts. The clusters become entitled to fetch those revisions.
   */
  async toMessages(
    changes: DesiredChange[],
    inlineBudget: number,
  ): Promise<[string, DesiredState][]> {
    const upserts = changes.filter((c) => c.kind === 'Upsert');
    const ids = [...new Set(upserts.map((u) => u.revision))];
    const sizes = await this.bundles.revisionSizes(ids);
    const digests = await this.digestsOf(ids);
    const inline = new Map<string, string>();
    for (const id of ids) {
      if ((sizes.get(id) ?? Infinity) > INLINE_CONTENT_BYTES) continue;
      const content = await this.contentOf(id);
      if (content === undefined) continue;
      const text = content.toString('utf8');
      // Only content whose bytes survive as text (JSON the hub wrote always does).
      if (Buffer.byteLength(text) === content.length) inline.set(id, text);
    }
    let budget = inlineBudget;
    const options = new Map<string, DeploymentOptions>();
    for (const name of new Set(upserts.map((u) => u.bundle))) {
      const bundle = await this.bundles.get(name).catch(() => undefined);
      options.set(name, DeploymentOptionsSchema.parse(bundle?.options ?? {}));
    }
    // Equal changes are one object, whichever clusters they go to: the outbox holds it once
    // and a flush serializes it once.
    const shared = new Map<string, DesiredState>();
    return changes.map((c): [string, DesiredState] => {
      if (c.kind === 'Remove') {
        const key = `R\u0000${c.bundle}`;
        let state = shared.get(key);
        if (state === undefined) {
          state = { kind: 'Remove', bundle: c.bundle };
          shared.set(key, state);
        }
        return [c.cluster, state];
      }
      this.entitle(c.cluster, c.revision);
      const size = sizes.get(c.revision) ?? 0;
      let content = inline.get(c.revision);
      if (content !== undefined && budget >= size) budget -= size;
      else content = undefined;
      const key = `${content === undefined ? 'U' : 'I'}\u0000${c.bundle}\u0000${c.revision}\u0000${c.commit}`;
      let state = shared.get(key);
      if (state === undefined) {
        state = {
          kind: 'Upsert',
          bundle: c.bundle,
          revision: c.revision,
          commit: c.commit,
          options: options.get(c.bundle) ?? DeploymentOptionsSchema.parse({}),
          size,
          chunks: Math.max(1, Math.ceil(size / CONTENT_CHUNK_BYTES)),
          contentSha256: digests.get(c.revision) ?? '0'.repeat(64),
          ...(content === undefined ? {} : { content }),
        };
        shared.set(key, state);
      }
      return [c.cluster, state];
    });
  }

  /** Content digests of revisions (content never changes under an id, so they are cached). */
  private async digestsOf(ids: string[]): Promise<Map<string, string>> {
    const missing = ids.filter((id) => !this.digests.has(id));
    for (const [id, digest] of await this.bundles.revisionDigests(missing)) {
      if (this.digests.size >= ENTITLED_MAX) this.digests.clear();
      this.digests.set(id, digest);
    }
    return this.digests;
  }

  /**
   * Whether `cluster` may fetch `revision`: one this replica told it to run (remembered), or
   * one PostgreSQL says is desired there (after a restart, or sent by another replica).
   */
  async isEntitled(cluster: string, revision: string): Promise<boolean> {
    if (this.entitled.get(revision)?.has(cluster) === true) return true;
    return this.deployments.isDesiredOn(cluster, revision);
  }

  private entitle(cluster: string, revision: string): void {
    if (this.entitledCount >= ENTITLED_MAX) {
      this.entitled.clear();
      this.entitledCount = 0;
    }
    let clusters = this.entitled.get(revision);
    if (clusters === undefined) {
      clusters = new Set();
      this.entitled.set(revision, clusters);
    }
    if (clusters.has(cluster)) return;
    clusters.add(cluster);
    this.entitledCount++;
  }

  /** A revision's content; concurrent requests for one not cached share a single load. */
  contentOf(revision: string): Promise<Buffer | undefined> {
    const cached = this.content.get(revision);
    if (cached) {
      this.content.delete(revision);
      this.content.set(revision, cached);
      return Promise.resolve(cached);
    }
    const loading = this.loading.get(revision);
    if (loading) return loading;
    const load = this.bundles
      .revisionContent(revision)
      .then((content) => {
        if (content) {
          this.content.set(revision, content);
          if (this.content.size > CONTENT_CACHE)
            this.content.delete(this.content.keys().next().value!);
        }
        return content;
      })
      .finally(() => this.loading.delete(revision));
    this.loading.set(revision, load);
    return load;
  }

  /** Stops re-sending and sends what is queued (at shutdown, after the last delivery pass). */
  async stop(): Promise<void> {
    this.resending = false;
    if (this.resendTimer !== undefined) this.clock.clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
    for (const hold of this.holds.values()) this.clock.clearTimeout(hold.timer);
    this.holds.clear();
    this.clock.clearTimeout(this.outboxDeadline);
    await this.flush();
  }
}
