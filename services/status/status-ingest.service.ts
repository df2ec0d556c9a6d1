import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  DeploymentEventType,
  type DeploymentsChangedEvent,
  parseStatusMessage,
  reportsOf,
  type Subjects,
} from '../../libs/contracts/index.js';
import { FlushScheduler } from '../../libs/batching/flush-scheduler.js';
import { deploymentKeyOf, messagesForNextWrite } from '../../libs/batching/report-batches.js';
import { DeploymentRepository, type ReportRow, isDataException } from '../../libs/db/index.js';
import {
  STATUS_CONSUMER,
  ensureStatusStream,
  parseJson,
  publishJson,
  statusStreamName,
} from '../../libs/nats/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { ReadinessService } from '../shared/readiness.service.js';
import { HUB_CONFIG, METRICS_REGISTRY, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

/** Reports are written at most this far apart, or when this many are waiting. */
const FLUSH_MS = 50;
const FLUSH_SIZE = 1000;
/**
 * Most reports one statement writes: a burst is written in statements of this size one after
 * another rather than in one huge statement (PostgreSQL and the hub's JSON handling slow down
 * past this, and acks wait for the whole statement).
 */
const MAX_WRITE_ROWS = 5000;
/**
 * Writes in progress at once, each on its own PostgreSQL connection, never two about the same
 * deployment: while PostgreSQL writes one batch the hub builds and sends the next, and the
 * database works on both (measured: the ingest burst waited on PostgreSQL ~90 % of the time with
 * one write at a time).
 */
const MAX_CONCURRENT_WRITES = 2;
/**
 * How often the status stream and its consumer are checked (and re-created when JetStream says
 * they do not exist).
 */
const WATCH_MS = 5000;
/**
 * Wait before a check asked for by the consumer (its message loop ended, its consumer or stream
 * was deleted, heartbeats were missed), and the first wait after a check JetStream did not answer;
 * the wait doubles with each unanswered check, up to WATCH_MAX_MS.
 */
const RESTART_MS = 1000;
const WATCH_MAX_MS = 60_000;

/**
 * Agents' status reports, from the JetStream stream into PostgreSQL in batches. A batch is
 * acked only after it is written, so a crash loses nothing (the reports are redelivered).
 * Changed deployments are announced on `flotilla.events.deployment.<cluster>`, one event per
 * cluster and write.
 */
@Injectable()
export class StatusIngestService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StatusIngest');
  private messages: ConsumerMessages | undefined;
  /**
   * Messages waiting to be written with their reports (acked once written) and the deployment
   * keys of those, and their count of reports.
   */
  private waiting: Waiting[] = [];
  private waitingRows = 0;
  /** Writes in progress, and the deployments they write (another write waits for those). */
  private readonly writes = new Set<Promise<void>>();
  private readonly busy = new Set<string>();
  private readonly flusher = new FlushScheduler(() => this.startWrites(), FLUSH_MS);
  private stopped = false;
  private readonly ingested: Counter;
  private readonly rejected: Counter;
  private readonly recreated: Counter;
  private readonly lag: Histogram;
  private readonly stream: string;
  private watchTimer: NodeJS.Timeout | undefined;
  /** When the next check runs (epoch ms), while one is scheduled. */
  private watchAt: number | undefined;
  private watching = false;
  /** The next check consumes again (a new consumer iterator) whatever it finds. */
  private restartWanted = false;
  /** Checks in a row JetStream did not answer (timeouts): the next one waits longer. */
  private unanswered = 0;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly deployments: DeploymentRepository,
    private readonly readiness: ReadinessService,
  ) {
    this.stream = statusStreamName(this.config.subjectPrefix);
    this.recreated = new Counter({
      name: 'flotilla_status_stream_recreated_total',
      help: 'Times the status stream or its consumer was found missing and re-created',
      registers: [registry],
    });
    this.ingested = new Counter({
      name: 'flotilla_status_reports_total',
      help: 'Status reports written',
      registers: [registry],
    });
    this.lag = new Histogram({
      name: 'flotilla_status_ingest_lag_seconds',
      help: "Time from an agent observing a deployment's state to the hub having written it (agent clocks included)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.rejected = new Counter({
      name: 'flotilla_status_reports_rejected_total',
      help: 'Malformed status reports dropped, and reports PostgreSQL refused to store (stored without their message and resources, or dropped)',
      registers: [registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('statusStream', () => this.streamProblem());
    await ensureStatusStream(
      await this.jetStreamManager(),
      this.stream,
      this.subjects.allStatus(),
      this.config.natsReplicas,
    );
    await this.consume();
    // The stream or its consumer may go (deleted by hand, a NATS server that lost its store):
    // checked every few seconds, and re-created when JetStream says they do not exist.
    this.scheduleWatch(WATCH_MS);
  }

  /** The JetStream API client the checks use (a test may hand out one whose requests fail). */
  protected jetStreamManager(): Promise<JetStreamManager> {
    return jetstreamManager(this.nc);
  }

  /** Consumes from the consumer as it is now, in place of the previous iterator. */
  private async consume(): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(this.stream, STATUS_CONSUMER);
    const messages = await consumer.consume({ max_messages: 2 * FLUSH_SIZE });
    const previous = this.messages;
    this.messages = messages;
    void this.follow(messages);
    void this.run(messages);
    await previous?.close().catch(() => undefined);
  }

  /** Why the status stream or its consumer cannot be used, or undefined. */
  private async streamProblem(): Promise<string | undefined> {
    const jsm = await this.jetStreamManager();
    try {
      await jsm.streams.info(this.stream);
    } catch (err) {
      return `stream ${this.stream}: ${String(err)}`;
    }
    try {
      await jsm.consumers.info(this.stream, STATUS_CONSUMER);
    } catch (err) {
      return `consumer ${STATUS_CONSUMER} of ${this.stream}: ${String(err)}`;
    }
    return undefined;
  }

  /** Runs the next check in `ms`, unless one is due sooner (or is running: it schedules the next). */
  private scheduleWatch(ms: number): void {
    if (this.stopped || this.watching) return;
    const at = Date.now() + ms;
    if (this.watchAt !== undefined && this.watchAt <= at) return;
    clearTimeout(this.watchTimer);
    this.watchAt = at;
    this.watchTimer = setTimeout(() => {
      this.watchAt = undefined;
      void this.watch();
    }, ms);
    this.watchTimer.unref();
  }

  /** A check soon; with `restart`, it consumes again (a new iterator) whatever it finds. */
  private requestWatch(restart: boolean): void {
    if (restart) this.restartWanted = true;
    this.scheduleWatch(RESTART_MS);
  }

  /**
   * Re-creates the stream or consumer when JetStream says it does not exist, and then consumes
   * from the new one; consumes again too when asked to (`restartWanted`). A check JetStream does
   * not answer (a timeout under load) changes nothing: it is logged and tried again, later each
   * time. Always schedules the next check.
   */
  private async watch(): Promise<void> {
    if (this.stopped || this.watching || this.nc.isClosed()) return;
    this.watching = true;
    const restart = this.restartWanted;
    this.restartWanted = false;
    let next = WATCH_MS;
    let mustConsume = restart;
    try {
      const created = await ensureStatusStream(
        await this.jetStreamManager(),
        this.stream,
        this.subjects.allStatus(),
        this.config.natsReplicas,
      );
      this.unanswered = 0;
      if (this.stopped) return;
      if (created.stream || created.consumer) {
        this.recreated.inc();
        this.logger.error(
          `${created.stream ? `status stream ${this.stream} and its consumer` : `consumer ${STATUS_CONSUMER} of ${this.stream}`} did not exist; re-created`,
        );
      }
      mustConsume ||= created.stream || created.consumer;
      if (mustConsume) {
        await this.consume();
        this.logger.log(`consuming status reports from ${this.stream}/${STATUS_CONSUMER} again`);
      }
    } catch (err) {
      // Not an answer that the stream or consumer is missing: nothing is re-created.
      if (mustConsume) this.restartWanted = true;
      this.unanswered++;
      next = Math.min(WATCH_MAX_MS, RESTART_MS * 2 ** this.unanswered);
      if (!this.stopped) {
        this.logger.warn(
          `checking the status stream ${this.stream} and consumer ${STATUS_CONSUMER}: ${String(err)}; trying again in ${next} ms`,
        );
      }
    } finally {
      this.watching = false;
      this.scheduleWatch(this.restartWanted && this.unanswered === 0 ? RESTART_MS : next);
    }
  }

  /**
   * Follows the iterator's notifications: when its consumer or stream was deleted (the iterator
   * then gets nothing more from it), a check re-creates what is missing and consumes again; missed
   * heartbeats ask for a check.
   */
  private async follow(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const n of messages.status()) {
        if (this.stopped || this.messages !== messages) return;
        if (
          n.type === 'consumer_deleted' ||
          n.type === 'consumer_not_found' ||
          n.type === 'stream_not_found'
        ) {
          this.logger.warn(`status consumer: ${n.type}; checking the stream and consuming again`);
          this.requestWatch(true);
        } else if (n.type === 'heartbeats_missed') {
          this.logger.warn(`status consumer missed ${n.count} heartbeats; checking the stream`);
          this.requestWatch(false);
        }
      }
    } catch {
      // The iterator ended; `run` sees to it.
    }
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) this.accept(msg);
    } catch (err) {
      if (!this.stopped) this.logger.error(`status consumer stopped: ${String(err)}`);
    }
    // Ended while still the current one (not replaced, not stopping): consume again.
    if (!this.stopped && this.messages === messages) this.requestWatch(true);
  }

  private accept(msg: JsMsg): void {
    if (this.stopped) {
      msg.nak(); // for another replica, or the next start
      return;
    }
    const cluster = this.subjects.clusterOf(msg.subject);
    const parsed = parseStatusMessage(parseJson(msg.data));
    const reports = parsed === undefined ? [] : reportsOf(parsed);
    // The subject names the sender; a report about another cluster is refused.
    if (
      parsed === undefined ||
      cluster === undefined ||
      parsed.cluster !== cluster ||
      reports.some((r) => r.cluster !== cluster)
    ) {
      this.rejected.inc();
      msg.term();
      return;
    }
    const rows = reports.map((r): ReportRow => {
      const observedAt = new Date(r.observedAt);
      return {
        cluster,
        bundle: r.bundle,
        revision: r.revision,
        state: r.state,
        message: r.message,
        resources: r.resources,
        observedAt: Number.isNaN(observedAt.getTime()) ? new Date() : observedAt,
      };
    });
    this.waiting.push({ msg, rows, keys: rows.map(deploymentKeyOf) });
    this.waitingRows += rows.length;
    this.flusher.request(this.waitingRows >= FLUSH_SIZE);
  }

  /**
   * Starts writes of the oldest waiting messages, up to MAX_WRITE_ROWS reports each, while fewer
   * than MAX_CONCURRENT_WRITES run; a message about a deployment a running write holds waits for
   * it (and so do the messages after it, so that each deployment's reports are written in order).
   */
  private startWrites(): Promise<void> {
    while (this.writes.size < MAX_CONCURRENT_WRITES) {
      const n = messagesForNextWrite(this.waiting, MAX_WRITE_ROWS, this.busy);
      if (n === 0) break;
      const taken = this.waiting.splice(0, n);
      for (const t of taken) {
        this.waitingRows -= t.rows.length;
        for (const k of t.keys) this.busy.add(k);
      }
      const write: Promise<void> = this.write(taken)
        .catch((err: unknown) => this.logger.error(`status write: ${String(err)}`))
        .finally(() => {
          for (const t of taken) for (const k of t.keys) this.busy.delete(k);
          this.writes.delete(write);
          if (this.waiting.length > 0) this.flusher.request(this.waitingRows >= FLUSH_SIZE);
        });
      this.writes.add(write);
    }
    return Promise.resolve();
  }

  /** Writes the reports of `taken`, acks them and announces what changed. */
  private async write(taken: Waiting[]): Promise<void> {
    const msgs = taken.map((t) => t.msg);
    const rows = taken.flatMap((t) => t.rows);
    try {
      const changed = await this.record(rows);
      for (const msg of msgs) msg.ack();
      this.ingested.inc(rows.length);
      const written = Date.now();
      for (const r of rows)
        this.lag.observe(Math.max(0, (written - r.observedAt.getTime()) / 1000));
      // One event per cluster with every deployment of it this write changed.
      const at = new Date().toISOString();
      const byCluster = new Map<string, DeploymentsChangedEvent>();
      for (const c of changed) {
        let event = byCluster.get(c.cluster);
        if (event === undefined) {
          event = {
            type: DeploymentEventType.DeploymentsChanged,
            cluster: c.cluster,
            deployments: [],
            at,
          };
          byCluster.set(c.cluster, event);
        }
        event.deployments.push({ bundle: c.bundle, state: c.state });
      }
      for (const event of byCluster.values()) {
        publishJson(this.nc, this.subjects.event('deployment', event.cluster), event);
      }
    } catch (err) {
      if (this.stopped) {
        // Stopping: hand them back at once, for another replica or the next start.
        for (const msg of msgs) msg.nak();
        return;
      }
      this.logger.error(
        `writing ${rows.length} status reports: ${String(err)}; they will be redelivered`,
      );
      for (const msg of msgs) msg.nak(1000);
    }
  }

  /**
   * Writes `rows`. A report PostgreSQL cannot store (a data exception: a NUL character in a
   * string, a lone UTF-16 surrogate) fails the statement it is in, and would fail it again on
   * every redelivery, holding back the whole batch: the rows are then written in halves until
   * each refused report stands alone. That one is written without its message and resources
   * (its state and revision still count), with a message saying why; if even that is refused,
   * it is dropped. Either way it is logged and counted as rejected, and the rest are written.
   */
  private async record(rows: ReportRow[]): Promise<Changed[]> {
    try {
      return await this.deployments.recordReports(rows);
    } catch (err) {
      if (!isDataException(err)) throw err;
      if (rows.length > 1) {
        const half = Math.ceil(rows.length / 2);
        const first = await this.record(rows.slice(0, half));
        return [...first, ...(await this.record(rows.slice(half)))];
      }
      const r = rows[0]!;
      const why = `PostgreSQL refused the report: ${String(err)}`;
      this.rejected.inc();
      try {
        const changed = await this.deployments.recordReports([
          { ...r, message: `${why}; stored without its message and resources`, resources: [] },
        ]);
        this.logger.warn(
          `status report of ${r.bundle} on ${r.cluster}: ${why}; stored without its message and resources`,
        );
        return changed;
      } catch (again) {
        if (!isDataException(again)) throw again;
        this.logger.warn(`status report of ${r.bundle} on ${r.cluster}: ${why}; dropped`);
        return [];
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.watchTimer);
    await this.messages?.close().catch(() => undefined);
    await this.flusher.stop();
    // Reports received but not written yet: written now, or handed back. Left alone, they would
    // come again only after the consumer's ack wait (30 s).
    while (this.waiting.length > 0 || this.writes.size > 0) {
      await this.startWrites();
      await Promise.all(this.writes);
    }
  }
}

/** A deployment a write changed. */
type Changed = Awaited<ReturnType<DeploymentRepository['recordReports']>>[number];

/** A status message waiting to be written. */
interface Waiting {
  msg: JsMsg;
  rows: ReportRow[];
  /** The deployment (bundle, cluster) of each report. */
  keys: string[];
}
