import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import {
  BundleEventSchema,
  ClusterEventSchema,
  deploymentChangesOf,
  RolloutChangeEventSchema,
  type Subjects,
  SyncAnnouncedEventSchema,
} from '../../libs/contracts/index.js';
import {
  BundleRepository,
  DeploymentRepository,
  RolloutRepository,
  TERMINAL_ROLLOUT_STATES,
} from '../../libs/db/index.js';
import type { OperatorAction } from '../../libs/rollouts/index.js';
import type { TimerClock } from '../../libs/liveness/lease.js';
import { WakeTimers } from '../../libs/liveness/wake.js';
import { parseJson } from '../../libs/nats/index.js';
import { CLOCK, DATA_SOURCE, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { ROLLOUTS_QUEUE } from './queue.js';
import { DesiredStatePublisher } from './desired-state-publisher.js';
import { type RolloutDecision, RolloutController } from './rollout-controller.js';
import { nextRolloutWake } from './rollout-wake.js';

/** A replica that stops renewing its lease on a bundle loses it after this long. */
const LEASE_MS = 10_000;
/** How old the cached list of dependent bundles may get. */
const DEPENDENTS_TTL_MS = 2000;
/** First and longest wait before a failed delivery pass is run again. */
const RETRY_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * The delivery loop: copies each bundle's targets (what Git asks) into deployments (what
 * clusters are told) in passes, one bundle at a time, under `dependsOn` holds, pauses and the
 * rollout controller's decisions, and hands what a pass committed to the
 * {@link DesiredStatePublisher}. A pass runs on the resolver's bundle events, on deployment
 * changes (a bundle's dependents, a running rollout's bundle), on clusters going Online or
 * Offline during a rollout, at the rollout's `wakeAt`, and again with back-off after it failed.
 * Every pass is idempotent, so replicas and restarts are harmless.
 */
@Injectable()
export class DeliveryLoop implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Delivery');
  private readonly subs: Subscription[] = [];
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
  /** Failed passes in a row per bundle, and the timers that deliver them again. */
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly deployments: DeploymentRepository,
    private readonly bundles: BundleRepository,
    private readonly rollouts: RolloutRepository,
    private readonly controller: RolloutController,
    private readonly publisher: DesiredStatePublisher,
    @Inject(CLOCK) private readonly clock: TimerClock,
  ) {
    this.wakes = new WakeTimers((bundle) => this.deliver(bundle), clock);
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
            if (event.data.sync !== undefined) this.publisher.hold(event.data.sync);
            this.deliver(event.data.bundle);
          }
        },
      }),
      // A sync announced its last bundle: once the passes asked for its bundles have run, what
      // they wrote goes to the agents together (every replica, like the bundle events).
      this.nc.subscribe(this.subjects.allEvents('sync'), {
        callback: (_err, msg) => {
          const event = SyncAnnouncedEventSchema.safeParse(parseJson(msg.data));
          if (!event.success) return;
          const passes = event.data.bundles.flatMap((b) => this.queue.get(b) ?? []);
          void Promise.all(passes).then(() => this.publisher.release(event.data.sync));
        },
      }),
      this.nc.subscribe(this.subjects.allEvents('deployment'), {
        queue: ROLLOUTS_QUEUE,
        callback: (_err, msg) => {
          this.onDeploymentsChanged(msg.data).catch((err: unknown) =>
            this.logger.error(`dependents of changed deployments: ${String(err)}`),
          );
        },
      }),
      // Running rollouts are re-planned when a deployment of their bundle reports, or a cluster
      // goes Online or Offline, on every replica (no queue group): the one holding the bundle's
      // lease plans, the others only check that it still holds it.
      this.nc.subscribe(this.subjects.allEvents('deployment'), {
        callback: (_err, msg) => {
          // Without a rollout running (the common case) the event need not even be read.
          if (this.rolling.size === 0) return;
          for (const change of deploymentChangesOf(parseJson(msg.data))) {
            if (this.rolling.has(change.bundle)) this.deliver(change.bundle);
          }
        },
      }),
      this.nc.subscribe(this.subjects.allEvents('cluster'), {
        callback: (_err, msg) => {
          if (this.rolling.size === 0) return;
          const event = ClusterEventSchema.safeParse(parseJson(msg.data));
          if (!event.success || event.data.type !== 'StateChanged') return;
          for (const bundle of this.rolling) this.deliver(bundle);
        },
      }),
      // Every replica follows which bundles roll out (no queue group).
      this.nc.subscribe(this.subjects.allEvents('rollout'), {
        callback: (_err, msg) => {
          const parsed = RolloutChangeEventSchema.safeParse(parseJson(msg.data));
          if (!parsed.success) return;
          const { bundle, state } = parsed.data;
          if (TERMINAL_ROLLOUT_STATES.includes(state)) this.rolling.delete(bundle);
          else this.rolling.add(bundle);
        },
      }),
    );
    // Catch up on whatever changed while no delivery ran, and on running rollouts: their passes
    // tell when each must be planned again (bake times, deadlines pass without any event).
    for (const bundle of await this.deployments.bundlesWithWork()) this.deliver(bundle);
    for (const bundle of await this.rollouts.activeBundles()) {
      this.rolling.add(bundle);
      this.deliver(bundle);
    }
  }

  /**
   * Delivers one bundle; calls for the same bundle run one after another, and calls made while
   * one waits to start are folded into it (a burst of reports costs one pass).
   */
  deliver(bundle: string): void {
    if (this.waiting.has(bundle)) return;
    this.waiting.add(bundle);
    // The first request folded into the pass: fan-out latency is measured from it.
    const since = performance.now();
    void this.enqueue(bundle, async () => {
      this.waiting.delete(bundle);
      await this.deliverNow(bundle, [], since);
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
    const since = performance.now();
    return this.enqueue(bundle, () => this.deliverNow(bundle, [action], since));
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

  /**
   * One delivery pass: dependency holds, rollout decisions, then targets to deployments. `since`
   * (`performance.now()` ms) is when it was asked for.
   */
  private deliverNow(
    bundle: string,
    actions: OperatorAction[],
    since: number,
  ): Promise<RolloutDecision> {
    // The last pass of a turn sends what the passes queued.
    return this.publisher.during(() => this.deliverPass(bundle, actions, since));
  }

  private async deliverPass(
    bundle: string,
    actions: OperatorAction[],
    since: number,
  ): Promise<RolloutDecision> {
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
    await this.publisher.publish(changes, since);
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

  /**
   * Deployments changed (`data`, a deployment event): the dependents of their bundles may go
   * on. Without any bundle that depends on another, the event is not read.
   */
  private async onDeploymentsChanged(data: Uint8Array): Promise<void> {
    const dependents = await this.dependents();
    if (dependents.length === 0) return;
    const bundles = new Set(deploymentChangesOf(parseJson(data)).map((c) => c.bundle));
    for (const d of dependents) {
      if (d.dependsOn.some((b) => bundles.has(b))) this.deliver(d.name);
    }
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

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.wakes.stop();
    for (const s of this.subs) s.unsubscribe();
    await this.idle();
    await this.publisher.stop();
    // Hand the bundles over at once rather than after the leases lapse.
    await this.deployments.releaseLeases(this.holder).catch(() => undefined);
  }
}
