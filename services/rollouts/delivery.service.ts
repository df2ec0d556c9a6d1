import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
  headers,
} from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import {
  ClusterEventSchema,
  CONTENT_CHUNK_BYTES,
  type PayloadSigner,
  SIGNATURE_HEADER,
  ContentRequestSchema,
  type DeploymentOptions,
  DeploymentOptionsSchema,
  type DesiredState,
  BundleEventSchema,
  DeploymentEventType,
  type DeploymentsChangedEvent,
  deploymentChangesOf,
  INLINE_CONTENT_BYTES,
  type Subjects,
  SyncRequestSchema,
} from '../../libs/contracts/index.js';
import {
  AgentSequenceRepository,
  BundleRepository,
  type DesiredChange,
  DeploymentRepository,
  RolloutRepository,
  TERMINAL_ROLLOUT_STATES,
} from '../../libs/db/index.js';
import { ActionType, type OperatorAction } from '../../libs/rollouts/index.js';
import type { TimerClock } from '../../libs/liveness/lease.js';
import { WakeTimers } from '../../libs/liveness/wake.js';
import { AgentRequestKind, syncRequestProblem } from '../../libs/gateway/index.js';
import { parseJson, publishJson } from '../../libs/nats/index.js';
import {
  CLOCK,
  DATA_SOURCE,
  METRICS_REGISTRY,
  NATS_CONNECTION,
  SIGNER,
  SUBJECTS,
} from '../shared/tokens.js';
import { AgentGateway, type AgentAnswer, type AgentRequest, agentError } from './agent-gateway.js';
import { type RolloutDecision, RolloutController } from './rollout-controller.js';
import { nextRolloutWake } from './rollout-wake.js';

const QUEUE = 'flotilla-rollouts';
/** A replica that stops renewing its lease on a bundle loses it after this long. */
const LEASE_MS = 10_000;
/** How often, and after how long without an acknowledgement, desired state is re-sent. */
const RESEND_MS = 5000;
/** Revisions kept in memory for content requests (many clusters fetch the same one). */
const CONTENT_CACHE = 64;
/** Remembered (cluster, revision) entitlements before the memory starts over. */
const ENTITLED_MAX = 500_000;
/** How old the cached list of dependent bundles may get. */
const DEPENDENTS_TTL_MS = 2000;
/** First and longest wait before a failed delivery pass is run again. */
const RETRY_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** Longest a desired-state change waits for the delivery passes running beside it. */
const COALESCE_MS = 250;
/** A desired-state message stays below this many bytes (NATS's default max payload is 1 MiB). */
const MAX_DESIRED_MESSAGE_BYTES = 512 * 1024;
/** Inline content a sync reply may carry in all; what does not fit is fetched. */
const SYNC_INLINE_BUDGET = 256 * 1024;

/**
 * Delivers desired state: copies each bundle's targets (what Git asks) into deployments (what
 * clusters are told), publishes the changes to the agents, and answers agents' sync and
 * content requests. Every step is idempotent, so replicas and restarts are harmless.
 */
@Injectable()
export class DeliveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Delivery');
  private readonly subs: Subscription[] = [];
  private readonly content = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | undefined>>();
  private readonly digests = new Map<string, string>();
  /** (cluster, revision) pairs this replica sent, so content requests need no query. */
  private readonly entitled = new Set<string>();
  private dependentsCache:
    { at: number; list: Promise<{ name: string; dependsOn: string[] }[]> } | undefined;
  private readonly queue = new Map<string, Promise<void>>();
  private readonly waiting = new Set<string>();
  /**
   * Bundles with a rollout in progress (re-planned on their deployments' reports), kept by every
   * replica from the rollout events, whichever replica drives the rollout.
   */
  private readonly rolling = new Set<string>();
  /** When each running rollout's bundle is delivered again without an event (the planner's `wakeAt`). */
  private readonly wakes: WakeTimers;
  /** This replica's identity for delivery leases. */
  private readonly holder = `rollouts-${randomUUID()}`;
  private resendTimer: NodeJS.Timeout | undefined;
  private readonly published: Counter;
  private readonly resent: Counter;
  /**
   * Desired-state changes waiting to be sent, per cluster, in order: the changes of delivery
   * passes that run together (a commit touching ten bundles) reach each agent as one message.
   */
  private outbox = new Map<string, DesiredState[]>();
  /** Failed passes in a row per bundle, and the timers that deliver them again. */
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopping = false;
  private outboxTimer: NodeJS.Timeout | undefined;
  /** The flush publishing now (flushes publish one after another, in order). */
  private flushing: Promise<void> = Promise.resolve();
  private passes = 0;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly deployments: DeploymentRepository,
    private readonly bundles: BundleRepository,
    private readonly rollouts: RolloutRepository,
    private readonly controller: RolloutController,
    @Inject(SIGNER) private readonly signer: PayloadSigner,
    private readonly gateway: AgentGateway,
    private readonly sequences: AgentSequenceRepository,
    @Inject(CLOCK) private readonly clock: TimerClock,
  ) {
    this.wakes = new WakeTimers((bundle) => this.deliver(bundle), clock);
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
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subs.push(
      // On every replica (no queue group): the one holding the bundle's lease delivers at once;
      // the others are refused and recheck when the lease would lapse.
      this.nc.subscribe(this.subjects.allEvents('bundle'), {
        callback: (_err, msg) => {
          // The resolver changed what Git asks of the bundle.
          const event = BundleEventSchema.safeParse(parseJson(msg.data));
          if (event.success) {
            this.dependentsCache = undefined;
            this.deliver(event.data.bundle);
          }
        },
      }),
      this.nc.subscribe(this.subjects.allEvents('deployment'), {
        queue: QUEUE,
        callback: (_err, msg) => {
          const bundles = new Set(deploymentChangesOf(parseJson(msg.data)).map((c) => c.bundle));
          for (const bundle of bundles) {
            this.onDeploymentChanged(bundle).catch((err: unknown) =>
              this.logger.error(`dependents of ${bundle}: ${String(err)}`),
            );
          }
        },
      }),
      // Running rollouts are re-planned when a deployment of their bundle reports, or a cluster
      // goes Online or Offline, on every replica (no queue group): the one holding the bundle's
      // lease plans, the others only check that it still holds it.
      this.nc.subscribe(this.subjects.allEvents('deployment'), {
        callback: (_err, msg) => {
          for (const change of deploymentChangesOf(parseJson(msg.data))) {
            if (this.rolling.has(change.bundle)) this.deliver(change.bundle);
          }
        },
      }),
      this.nc.subscribe(this.subjects.allEvents('cluster'), {
        callback: (_err, msg) => {
          const event = ClusterEventSchema.safeParse(parseJson(msg.data));
          if (!event.success || event.data.type !== 'StateChanged') return;
          for (const bundle of this.rolling) this.deliver(bundle);
        },
      }),
      // Every replica follows which bundles roll out (no queue group).
      this.nc.subscribe(this.subjects.allEvents('rollout'), {
        callback: (_err, msg) => {
          const event = parseJson(msg.data) as { bundle?: unknown; state?: unknown } | undefined;
          if (typeof event?.bundle !== 'string' || typeof event.state !== 'string') return;
          if (TERMINAL_ROLLOUT_STATES.includes(event.state)) this.rolling.delete(event.bundle);
          else this.rolling.add(event.bundle);
        },
      }),
      // Operator actions reach every replica (no queue group): only the one holding the bundle's
      // lease carries one out and answers, the others stay silent.
      this.nc.subscribe(this.subjects.control('rollouts'), {
        callback: (_e, msg) => void this.answerAction(msg),
      }),
    );
    // Agents' requests are answered through the gateway only (their own inbox, within limits).
    this.gateway.serve(AgentRequestKind.Sync, (req) => this.answerSync(req));
    this.gateway.serve(AgentRequestKind.Content, (req) => this.answerContent(req));
    // Catch up on whatever changed while no delivery ran, and on running rollouts: their passes
    // tell when each must be planned again (bake times, deadlines pass without any event).
    for (const bundle of await this.deployments.bundlesWithWork()) this.deliver(bundle);
    for (const bundle of await this.rollouts.activeBundles()) {
      this.rolling.add(bundle);
      this.deliver(bundle);
    }
    // Desired states can be lost in transit; whatever an agent has not acknowledged is re-sent.
    this.resendTimer = setInterval(() => {
      this.resendUnacknowledged().catch((err: unknown) =>
        this.logger.error(`re-sending desired state: ${String(err)}`),
      );
    }, RESEND_MS);
    this.resendTimer.unref();
  }

  /**
   * Delivers one bundle; calls for the same bundle run one after another, and calls made while
   * one waits to start are folded into it (a burst of reports costs one pass).
   */
  deliver(bundle: string): void {
    if (this.waiting.has(bundle)) return;
    this.waiting.add(bundle);
    void this.enqueue(bundle, async () => {
      this.waiting.delete(bundle);
      await this.deliverNow(bundle, []);
    }).then(
      () => this.failures.delete(bundle),
      () => this.retryLater(bundle),
    );
  }

  /**
   * A pass that failed (PostgreSQL gone for a moment, a deadlock with a status write) rolled
   * back its holds, rollbacks and deliveries (one transaction) and sent nothing, so the bundle is
   * delivered again, after 1 s, doubling up to 30 s. The rollout controller's record, written
   * before, is re-planned from what the clusters report on that pass.
   */
  private retryLater(bundle: string): void {
    if (this.stopping) return;
    const failures = (this.failures.get(bundle) ?? 0) + 1;
    this.failures.set(bundle, failures);
    const timer = setTimeout(
      () => {
        this.retryTimers.delete(timer);
        if (!this.stopping) this.deliver(bundle);
      },
      Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (failures - 1)),
    );
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** Applies an operator action to a bundle's rollout, in the bundle's queue. */
  act(bundle: string, action: OperatorAction): Promise<RolloutDecision> {
    return this.enqueue(bundle, () => this.deliverNow(bundle, [action]));
  }

  private enqueue<T>(bundle: string, run: () => Promise<T>): Promise<T> {
    const previous = this.queue.get(bundle) ?? Promise.resolve();
    const result = previous.then(run);
    const next = result
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error(`delivering ${bundle}: ${String(err)}`))
      .finally(() => {
        if (this.queue.get(bundle) === next) this.queue.delete(bundle);
      });
    this.queue.set(bundle, next);
    return result;
  }

  /** One delivery pass: dependency holds, rollout decisions, then targets to deployments. */
  private async deliverNow(bundle: string, actions: OperatorAction[]): Promise<RolloutDecision> {
    this.passes++;
    try {
      return await this.deliverPass(bundle, actions);
    } finally {
      // The last pass of a turn sends what the passes queued.
      if (--this.passes === 0) void this.flushOutbox();
    }
  }

  private async deliverPass(bundle: string, actions: OperatorAction[]): Promise<RolloutDecision> {
    if (!(await this.deployments.acquireLease(bundle, this.holder, LEASE_MS))) {
      // Another replica drives this bundle (and its rollout) for now; should it stop, its lease
      // lapses and this replica takes the rollout over then.
      this.wakes.schedule(
        bundle,
        nextRolloutWake({
          leased: false,
          running: this.rolling.has(bundle),
          wakeAt: null,
          now: this.clock.now(),
          leaseMs: LEASE_MS,
        }),
      );
      return {
        held: new Map(),
        rollbacks: [],
        rejected: [],
        rollout: undefined,
        wakeAt: null,
        leased: false,
      };
    }
    const dependencyHolds = await this.holdForDependencies(bundle);
    const decision = await this.controller.decide(bundle, actions);
    const held = new Map([
      ...decision.held,
      ...dependencyHolds,
      ...(await this.holdIfPaused(bundle)),
    ]);
    // Holds, rollbacks and targets are written together: a pass that fails midway leaves the
    // deployments as they were (and sends nothing), and runs again (`retryLater`).
    const changes = await this.ds.transaction(async (m) => {
      if (held.size === 0) {
        await this.deployments.clearHolds(bundle, m);
      } else {
        const targets = await this.deployments.targetClusters(bundle, m);
        await this.deployments.setHolds(
          bundle,
          new Map(targets.map((c) => [c, held.get(c) ?? null])),
          m,
        );
      }
      return [
        ...(await this.deployments.setDesired(bundle, decision.rollbacks, m)),
        ...(await this.deployments.deliverTargets(bundle, [...held.keys()], m)),
      ];
    });
    // Only what was committed is queued for the agents.
    await this.publish(changes);
    const running =
      decision.rollout !== undefined && !TERMINAL_ROLLOUT_STATES.includes(decision.rollout.state);
    if (running) this.rolling.add(bundle);
    else this.rolling.delete(bundle);
    this.wakes.schedule(
      bundle,
      nextRolloutWake({
        leased: true,
        running,
        wakeAt: decision.wakeAt,
        now: this.clock.now(),
        leaseMs: LEASE_MS,
      }),
    );
    return decision;
  }

  /**
   * `dependsOn`: a cluster gets the bundle only once every dependency is Ready there at its
   * desired revision. Returns the clusters held back, with why.
   */
  private async holdForDependencies(bundle: string): Promise<Map<string, string>> {
    const held = new Map<string, string>();
    const deps = (await this.dependents()).find((d) => d.name === bundle)?.dependsOn ?? [];
    if (deps.length === 0) return held;
    const clusters = await this.deployments.targetClusters(bundle);
    const unready = await this.deployments.unreadyDependencies(deps, clusters);
    for (const [cluster, waiting] of unready) {
      held.set(cluster, `waiting for ${waiting.join(', ')} to be Ready on this cluster`);
    }
    return held;
  }

  /**
   * Fleet's `paused: true` (fleet.yaml): every cluster keeps what it runs, new commits are held
   * back (OutOfSync) until the bundle is unpaused.
   */
  private async holdIfPaused(bundle: string): Promise<Map<string, string>> {
    const row = await this.bundles.get(bundle).catch(() => undefined);
    if (row?.options.paused !== true) return new Map();
    const clusters = await this.deployments.targetClusters(bundle);
    const reason = 'bundle is paused (fleet.yaml paused: true)';
    return new Map(clusters.map((c) => [c, reason]));
  }

  /** A deployment changed: the bundle's dependents may go on. */
  private async onDeploymentChanged(bundle: string): Promise<void> {
    for (const d of await this.dependents()) {
      if (d.dependsOn.includes(bundle)) this.deliver(d.name);
    }
  }

  /** Operator action request (from the api service): `{rollout, action, by, reason?}`. */
  private async answerAction(msg: Msg): Promise<void> {
    const reply = (status: number, body: Record<string, unknown>): void => {
      msg.respond(JSON.stringify({ status, ...body }));
    };
    const req = parseJson(msg.data) as
      | { rollout?: unknown; action?: unknown; by?: unknown; reason?: unknown; stage?: unknown }
      | undefined;
    const actions = Object.values(ActionType) as string[];
    if (
      typeof req?.rollout !== 'string' ||
      typeof req.action !== 'string' ||
      !actions.includes(req.action)
    ) {
      return reply(400, { message: `action must be one of ${actions.join(', ')}` });
    }
    try {
      const rollout = await this.rollouts.get(req.rollout);
      if (TERMINAL_ROLLOUT_STATES.includes(rollout.state)) {
        return reply(409, {
          message: `rollout ${rollout.id} is ${rollout.state}; it cannot ${req.action}`,
        });
      }
      const decision = await this.act(rollout.bundle, {
        type: req.action as ActionType,
        by: typeof req.by === 'string' ? req.by : 'anonymous',
        ...(typeof req.reason === 'string' ? { reason: req.reason } : {}),
        // A promote of the stage the operator saw: the planner refuses it once another is current.
        ...(typeof req.stage === 'string' ? { stage: req.stage } : {}),
      });
      const rejected = decision.rejected[0];
      if (rejected) return reply(409, { message: rejected.reason });
      // Another replica drives this rollout and answers (a request takes the first answer).
      if (decision.leased === false) return;
      if (decision.rollout?.id !== rollout.id) {
        return reply(409, {
          message: `rollout ${rollout.id} is no longer the active rollout of ${rollout.bundle}`,
        });
      }
      return reply(200, { state: decision.rollout.state });
    } catch (err) {
      if ((err as Error).name === 'NotFoundError')
        return reply(404, { message: (err as Error).message });
      this.logger.error(`rollout action: ${String(err)}`);
      return reply(500, { message: 'internal error' });
    }
  }

  private async resendUnacknowledged(): Promise<void> {
    const stale = await this.deployments.unacknowledged(RESEND_MS);
    if (stale.length === 0) return;
    this.resent.inc(stale.length);
    await this.publish(stale);
  }

  /** Resolves once every delivery queued so far has run (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.queue.size > 0) await Promise.all([...this.queue.values()]);
  }

  /**
   * Bundles that depend on others, cached: every status report would otherwise read the bundles
   * table. Invalidated when the resolver announces a bundle, and at most 2 s old. The query in
   * flight is shared: a burst of reports arriving while it runs must not each start one.
   */
  private dependents(): Promise<{ name: string; dependsOn: string[] }[]> {
    const cached = this.dependentsCache;
    if (cached && Date.now() - cached.at < DEPENDENTS_TTL_MS) return cached.list;
    const entry = { at: Date.now(), list: this.bundles.dependents() };
    this.dependentsCache = entry;
    entry.list.catch(() => {
      if (this.dependentsCache === entry) this.dependentsCache = undefined;
    });
    return entry.list;
  }

  /** An answer carrying `value` and the hub's signature over its exact bytes. */
  private signedAnswer(value: unknown): AgentAnswer {
    const [data, { headers }] = this.signedText(JSON.stringify(value));
    return { data, headers };
  }

  private signedText(text: string): [Uint8Array, { headers: MsgHdrs }] {
    const data = new TextEncoder().encode(text);
    const h = headers();
    h.set(SIGNATURE_HEADER, this.signer.sign(data));
    return [data, { headers: h }];
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
   * Queues changes for their clusters: sent when no delivery pass runs any more, or after
   * COALESCE_MS at the latest.
   */
  private async publish(changes: DesiredChange[]): Promise<void> {
    if (changes.length === 0) return;
    const messages = await this.toMessages(changes, Infinity);
    for (const [cluster, message] of messages) {
      const queued = this.outbox.get(cluster);
      if (queued === undefined) this.outbox.set(cluster, [message]);
      else queued.push(message);
    }
    if (this.passes === 0) void this.flushOutbox();
    else this.outboxTimer ??= setTimeout(() => void this.flushOutbox(), COALESCE_MS);
  }

  /**
   * Sends every queued change: one signed message per cluster, split where a message would grow
   * past its size limit, each numbered in its cluster's sequence (taken after the passes that
   * made the changes committed). When no numbers can be taken (PostgreSQL gone for a moment) the
   * changes are not sent; the agents do not acknowledge them, so they are re-sent later.
   */
  private flushOutbox(): Promise<void> {
    clearTimeout(this.outboxTimer);
    this.outboxTimer = undefined;
    const outbox = this.outbox;
    this.outbox = new Map();
    if (outbox.size === 0) return this.flushing;
    const messages = new Map<string, string[][]>();
    for (const [cluster, changes] of outbox) {
      const split: string[][] = [];
      let parts: string[] = [];
      let bytes = 0;
      for (const change of changes) {
        const part = JSON.stringify(change);
        const partBytes = Buffer.byteLength(part) + 1;
        if (parts.length > 0 && bytes + partBytes > MAX_DESIRED_MESSAGE_BYTES) {
          split.push(parts);
          parts = [];
          bytes = 0;
        }
        parts.push(part);
        bytes += partBytes;
        this.published.inc({ kind: change.kind });
      }
      if (parts.length > 0) split.push(parts);
      messages.set(cluster, split);
    }
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
        const issuedAt = new Date().toISOString();
        for (const [cluster, split] of messages) {
          const subject = this.subjects.desired(cluster);
          let seq = newest.get(cluster)! - split.length;
          for (const parts of split) {
            const envelope = JSON.stringify({ cluster, seq: ++seq, issuedAt });
            const payload = `${envelope.slice(0, -1)},"changes":[${parts.join(',')}]}`;
            this.nc.publish(subject, ...this.signedText(payload));
          }
        }
      })
      .catch((err: unknown) => this.logger.error(`publishing desired state: ${String(err)}`));
    this.flushing = flush;
    return flush;
  }

  /**
   * Desired-state messages for changes, with options, content sizes and digests filled in, and
   * the content itself for revisions of at most INLINE_CONTENT_BYTES while `inlineBudget`
   * (bytes, over all of them) lasts.
   */
  private async toMessages(
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
    return changes.map((c): [string, DesiredState] => {
      if (c.kind === 'Remove') return [c.cluster, { kind: 'Remove', bundle: c.bundle }];
      this.entitle(c.cluster, c.revision);
      const size = sizes.get(c.revision) ?? 0;
      let content = inline.get(c.revision);
      if (content !== undefined && budget >= size) budget -= size;
      else content = undefined;
      return [
        c.cluster,
        {
          kind: 'Upsert',
          bundle: c.bundle,
          revision: c.revision,
          commit: c.commit,
          options: options.get(c.bundle) ?? DeploymentOptionsSchema.parse({}),
          size,
          chunks: Math.max(1, Math.ceil(size / CONTENT_CHUNK_BYTES)),
          contentSha256: digests.get(c.revision) ?? '0'.repeat(64),
          ...(content === undefined ? {} : { content }),
        },
      ];
    });
  }

  /** Agent after (re)connect: "I hold these"; answer with everything that differs. */
  private async answerSync({ cluster, data }: AgentRequest): Promise<AgentAnswer> {
    const parsed = SyncRequestSchema.safeParse(parseJson(data));
    if (!parsed.success) return agentError('malformed sync request');
    const tooMany = syncRequestProblem(parsed.data.held);
    if (tooMany !== undefined) return agentError(tooMany);
    try {
      // Numbered before the desired state is read: the reply holds every change sent with a
      // lower number (those were committed before), so the agent may refuse them from now on.
      const seq = (await this.sequences.take(new Map([[cluster, 1]]))).get(cluster)!;
      const held = new Map(parsed.data.held.map((h) => [h.bundle, h.revision]));
      const desired = await this.deployments.desiredForCluster(cluster);
      const wanted = new Set(desired.map((d) => d.bundle));
      const changes: DesiredChange[] = desired.filter((d) =>
        d.kind === 'Upsert' ? held.get(d.bundle) !== d.revision : held.has(d.bundle),
      );
      // Bundles the agent holds that the hub no longer knows for it: remove them.
      for (const bundle of held.keys())
        if (!wanted.has(bundle)) changes.push({ kind: 'Remove', bundle, cluster });
      // What the hub saw applied but the cluster does not hold is not Ready any more.
      const missing = desired.filter((d) => d.kind === 'Upsert' && !held.has(d.bundle));
      const notHeld = await this.deployments.markNotHeld(
        cluster,
        missing.map((d) => d.bundle),
      );
      if (notHeld.length > 0) {
        const event: DeploymentsChangedEvent = {
          type: DeploymentEventType.DeploymentsChanged,
          cluster,
          deployments: notHeld.map((bundle) => ({ bundle, state: 'Pending' })),
          at: new Date().toISOString(),
        };
        publishJson(this.nc, this.subjects.event('deployment', cluster), event);
      }
      const messages = await this.toMessages(changes, SYNC_INLINE_BUDGET);
      return this.signedAnswer({
        cluster,
        seq,
        issuedAt: new Date().toISOString(),
        changes: messages.map(([, m]) => m),
      });
    } catch (err) {
      this.logger.error(`sync for ${cluster}: ${String(err)}`);
      return agentError('sync failed; retry');
    }
  }

  /** One chunk of a revision's content, for a cluster that is meant to run it. */
  private async answerContent({ cluster, data }: AgentRequest): Promise<AgentAnswer> {
    const parsed = ContentRequestSchema.safeParse(parseJson(data));
    if (!parsed.success) return agentError('malformed content request');
    const { revision, chunk } = parsed.data;
    try {
      if (!(await this.isEntitled(cluster, revision))) {
        return agentError(`revision ${revision} is not desired on cluster ${cluster}`);
      }
      const content = await this.contentOf(revision);
      if (!content) return agentError(`revision ${revision} not found`);
      const start = chunk * CONTENT_CHUNK_BYTES;
      if (chunk > 0 && start >= content.length) return agentError(`chunk ${chunk} is out of range`);
      return { data: content.subarray(start, start + CONTENT_CHUNK_BYTES) };
    } catch (err) {
      this.logger.error(`content for ${cluster}: ${String(err)}`);
      return agentError('content lookup failed; retry');
    }
  }

  /**
   * Whether `cluster` may fetch `revision`: one this replica told it to run (remembered), or
   * one PostgreSQL says is desired there (after a restart, or sent by another replica).
   */
  private async isEntitled(cluster: string, revision: string): Promise<boolean> {
    if (this.entitled.has(`${cluster}\u0000${revision}`)) return true;
    const rows: unknown[] = await this.ds.query(
      'SELECT 1 FROM deployments WHERE cluster = $1 AND desired_revision = $2 LIMIT 1',
      [cluster, revision],
    );
    return rows.length > 0;
  }

  private entitle(cluster: string, revision: string): void {
    if (this.entitled.size >= ENTITLED_MAX) this.entitled.clear();
    this.entitled.add(`${cluster}\u0000${revision}`);
  }

  /** A revision's content; concurrent requests for one not cached share a single load. */
  private contentOf(revision: string): Promise<Buffer | undefined> {
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

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.wakes.stop();
    if (this.resendTimer) clearInterval(this.resendTimer);
    for (const s of this.subs) s.unsubscribe();
    await this.idle();
    await this.flushOutbox();
    // Hand the bundles over at once rather than after the leases lapse.
    await this.deployments.releaseLeases(this.holder).catch(() => undefined);
  }
}
