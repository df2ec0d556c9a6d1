import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import {
  ClusterEventSchema,
  ClusterEventType,
  ClusterState,
  type Subjects,
  clusterEvent,
  readHeartbeat,
} from '../../libs/contracts/index.js';
import {
  ClusterRepository,
  type HeartbeatRecord,
  type StateTransition,
} from '../../libs/db/index.js';
import { FlushScheduler } from '../../libs/batching/flush-scheduler.js';
import type { HubConfig } from '../../libs/config/config.js';
import { LeaseTimers, leaseExpiry } from '../../libs/liveness/lease.js';
import { LeaseRenewals } from '../../libs/liveness/renewals.js';
import {
  OBSERVATION_TICK_MS,
  ObservationWindow,
  judgeLeases,
} from '../../libs/liveness/observation.js';
import { parseJson, publishJson } from '../../libs/nats/index.js';
import { HUB_CONFIG, METRICS_REGISTRY, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

/** A heartbeat waiting to be written (`leaseMs`: its lease expiry, epoch ms). */
interface PendingHeartbeat {
  name: string;
  /** When this hub received it (epoch ms). */
  seenMs: number;
  leaseMs: number;
  agentVersion: string;
  kubernetesVersion: string;
}

/** Queue group: each heartbeat is handled by one status replica. */
const QUEUE = 'flotilla-status';
/**
 * Heartbeats are written in batches at most this far apart (a few statements a second with
 * thousands of clusters; a first heartbeat's Online is this much later)...
 */
const FLUSH_MS = 250;
/** ...or as soon as this many are waiting. */
const FLUSH_SIZE = 2000;
/**
 * A heartbeat that only renews a lease this replica stored with more than half an interval (and
 * at least this) left is held back, and written when that much is left (see LeaseRenewals):
 * about every other heartbeat is written.
 */
const MIN_RENEWAL_MARGIN_MS = 1000;
/** Fallback sweep for leases whose timer lived in a replica that died. */
const SWEEP_MS = 5000;

/**
 * Cluster liveness. Heartbeats are batched into PostgreSQL (Online, lastSeen, versions, lease);
 * one that only renews a lease stored with long enough left waits for a newer one or for the
 * stored lease to run low (so PostgreSQL always holds the newest lease before the stored one
 * ends, for every replica to judge by). Each lease has a timer at its exact expiry that marks the cluster Offline unless it was
 * renewed meanwhile (by any replica). State changes go out as `flotilla.events.cluster.<name>`.
 *
 * A lease is three of the hub's heartbeat intervals (FLOTILLA_HEARTBEAT_INTERVAL), whatever the
 * agent says it heartbeats at. Time the hub was not observing (event loop blocked, not running)
 * does not count against agents, and a cluster whose heartbeat this hub received within its lease
 * is never expired because PostgreSQL has not stored it yet (see `judgeLeases`).
 */
@Injectable()
export class HeartbeatIngestService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Liveness');
  private subscription: Subscription | undefined;
  private pending = new Map<string, PendingHeartbeat>();
  /** Which heartbeats to write now, and the ones held back until their stored lease runs low. */
  private readonly renewals: LeaseRenewals<PendingHeartbeat>;
  private renewalTimer: NodeJS.Timeout | undefined;
  private clusterEvents: Subscription | undefined;
  private readonly flusher = new FlushScheduler(() => this.flush(), FLUSH_MS);
  private sweepTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly leases: LeaseTimers;
  /** Lease expiry (epoch ms, by this hub's clock) of the last heartbeat received per cluster. */
  private readonly received = new Map<string, number>();
  private observation: ObservationWindow;
  private readonly intervalMs: number;
  /** How long a lease lasts (ms). */
  private readonly leaseMs: number;
  private readonly heartbeats: Counter;
  private readonly held: Counter;
  private readonly rejected: Counter;
  private readonly transitions: Counter;
  private stopped = false;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly clusters: ClusterRepository,
    @Inject(HUB_CONFIG) config: Pick<HubConfig, 'heartbeatIntervalMs'>,
  ) {
    this.intervalMs = config.heartbeatIntervalMs;
    this.leaseMs = leaseExpiry(new Date(0), this.intervalMs).getTime();
    this.leases = new LeaseTimers((names) => void this.expire(names));
    this.renewals = new LeaseRenewals(
      Math.max(MIN_RENEWAL_MARGIN_MS, Math.round(this.intervalMs / 2)),
    );
    this.observation = this.observeFromNow();
    this.heartbeats = new Counter({
      name: 'flotilla_heartbeats_total',
      help: 'Heartbeats received',
      registers: [registry],
    });
    this.held = new Counter({
      name: 'flotilla_heartbeats_held_total',
      help: 'Heartbeats that only renewed a lease stored with long enough left: written later (the newest of a cluster), not at once',
      registers: [registry],
    });
    this.rejected = new Counter({
      name: 'flotilla_heartbeats_rejected_total',
      help: 'Malformed heartbeats dropped',
      registers: [registry],
    });
    this.transitions = new Counter({
      name: 'flotilla_cluster_state_transitions_total',
      help: 'Cluster connection state changes',
      labelNames: ['state'],
      registers: [registry],
    });
  }

  /** The hub starts observing now: leases are judged one interval from now at the earliest. */
  private observeFromNow(): ObservationWindow {
    return new ObservationWindow(this.intervalMs, { now: () => Date.now() }, (gap, from) =>
      this.logger.warn(
        `the hub observed nothing for ${gap} ms (event loop blocked?); leases are judged again from ${new Date(from).toISOString()}`,
      ),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    // Starting up (migrations, other modules) is no stall: observing starts here.
    this.observation = this.observeFromNow();
    // Leases granted before this process started: expire the lapsed ones, time the rest.
    await this.expire(undefined);
    for (const lease of await this.clusters.onlineLeases())
      this.leases.schedule(lease.name, lease.leaseExpiresAt);
    this.subscription = this.nc.subscribe(this.subjects.allHeartbeats(), {
      queue: QUEUE,
      callback: (err, msg) => {
        if (err) {
          this.logger.warn(`heartbeat subscription: ${err.message}`);
          return;
        }
        this.accept(msg.subject, msg.data);
      },
    });
    // Every replica: a cluster deleted, registered again, or taken Offline (by any replica) has
    // its next heartbeat written at once, whatever lease this replica stored for it (and the one
    // held back, if any, is dropped).
    this.clusterEvents = this.nc.subscribe(this.subjects.allEvents('cluster'), {
      callback: (err, msg) => {
        if (err) return;
        const event = ClusterEventSchema.safeParse(parseJson(msg.data));
        if (!event.success) return;
        const { type, cluster } = event.data;
        if (
          type === ClusterEventType.Registered ||
          type === ClusterEventType.Deleted ||
          (type === ClusterEventType.StateChanged && cluster.state !== ClusterState.Online)
        )
          this.renewals.forget([cluster.name]);
      },
    });
    this.renewalTimer = setInterval(
      // Taken one flush early, so the write is stored by the time the margin is reached.
      () => this.writeNow(this.renewals.takeDue(Date.now() + FLUSH_MS)),
      FLUSH_MS,
    );
    this.renewalTimer.unref();
    this.sweepTimer = setInterval(() => void this.expire(undefined), SWEEP_MS);
    this.sweepTimer.unref();
    this.tickTimer = setInterval(() => this.observation.tick(), OBSERVATION_TICK_MS);
    this.tickTimer.unref();
  }

  private accept(subject: string, data: Uint8Array): void {
    const cluster = this.subjects.clusterOf(subject);
    const heartbeat = readHeartbeat(parseJson(data));
    // The subject names the sender (NATS permissions bind agents to their own subjects).
    if (heartbeat === undefined || cluster === undefined || heartbeat.cluster !== cluster) {
      this.rejected.inc();
      return;
    }
    this.heartbeats.inc();
    const seenMs = Date.now();
    // The hub's interval, not the one the agent names: an agent cannot lengthen its own lease.
    const leaseMs = seenMs + this.leaseMs;
    this.received.set(cluster, leaseMs);
    // Numbers, no Dates: about half are held back and never written.
    const record: PendingHeartbeat = {
      name: cluster,
      seenMs,
      leaseMs,
      agentVersion: heartbeat.agentVersion,
      kubernetesVersion: heartbeat.kubernetesVersion,
    };
    if (!this.renewals.offer(record, seenMs)) {
      this.held.inc();
      return;
    }
    this.pending.set(cluster, record);
    this.flusher.request(this.pending.size >= FLUSH_SIZE);
  }

  /** Heartbeats no longer held back: written with the next flush. */
  private writeNow(records: PendingHeartbeat[]): void {
    if (records.length === 0 || this.stopped) return;
    for (const record of records)
      if (!this.pending.has(record.name)) this.pending.set(record.name, record);
    this.flusher.request(this.pending.size >= FLUSH_SIZE);
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      const changed = await this.clusters.recordHeartbeats(batch.map(heartbeatRecord));
      // The renewals' due queue is read in time order: a retried batch mixes older records in.
      batch.sort((a, b) => a.leaseMs - b.leaseMs);
      this.renewals.wrote(batch);
      for (const record of batch) this.leases.scheduleAt(record.name, record.leaseMs);
      this.announce(changed);
    } catch (err) {
      if (this.stopped) return;
      this.logger.error(`recording ${batch.length} heartbeats: ${String(err)}`);
      // Keep the newest of each for the next attempt.
      for (const record of batch)
        if (!this.pending.has(record.name)) this.pending.set(record.name, record);
      this.flusher.retry(1000);
    }
  }

  /**
   * Marks Offline the clusters whose lease lapsed (`names` from their timers; undefined: any in
   * PostgreSQL), as judged by {@link judgeLeases}; the others are looked at again later.
   */
  private async expire(names: string[] | undefined): Promise<void> {
    if (this.stopped) return;
    // Before any await: after a blocked event loop, timers run before the queued heartbeats are read.
    const judgeFrom = this.observation.judgeFrom();
    const now = Date.now();
    try {
      const candidates = names ?? (await this.clusters.lapsedLeases(new Date(now)));
      if (names === undefined) this.forgetEndedLeases(now);
      const { expire, later } = judgeLeases(candidates, this.received, now, judgeFrom);
      for (const { name, at } of later) this.leases.schedule(name, new Date(at));
      if (expire.length === 0) return;
      this.announce(await this.clusters.expireLeases(new Date(now), expire));
    } catch (err) {
      if (!this.stopped) this.logger.error(`expiring leases: ${String(err)}`);
    }
  }

  private forgetEndedLeases(now: number): void {
    for (const [name, until] of this.received) if (until <= now) this.received.delete(name);
  }

  private announce(changes: StateTransition[]): void {
    for (const { cluster, previousState } of changes) {
      this.transitions.inc({ state: cluster.state });
      this.logger.log(`cluster ${cluster.name}: ${previousState} → ${cluster.state}`);
      publishJson(
        this.nc,
        this.subjects.event('cluster', cluster.name),
        clusterEvent(ClusterEventType.StateChanged, cluster, previousState),
      );
    }
  }

  /**
   * Stops taking heartbeats and stores what this replica received and has not written yet (the
   * waiting batch and the held renewals), so that no cluster's stored lease ends early because
   * this replica went (PostgreSQL closes after this, at application shutdown).
   */
  async onModuleDestroy(): Promise<void> {
    this.subscription?.unsubscribe();
    this.clusterEvents?.unsubscribe();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.renewalTimer) clearInterval(this.renewalTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const record of this.renewals.takeAll())
      if (!this.pending.has(record.name)) this.pending.set(record.name, record);
    await this.flusher.stop();
    this.stopped = true;
    await this.flush();
    this.leases.clear();
  }
}

function heartbeatRecord(p: PendingHeartbeat): HeartbeatRecord {
  return {
    name: p.name,
    seenAt: new Date(p.seenMs),
    leaseExpiresAt: new Date(p.leaseMs),
    agentVersion: p.agentVersion,
    kubernetesVersion: p.kubernetesVersion,
  };
}
