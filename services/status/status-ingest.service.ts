import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type ConsumerMessages, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import {
  DeploymentEventType,
  type DeploymentsChangedEvent,
  StatusMessageSchema,
  reportsOf,
  type Subjects,
} from '../../libs/contracts/index.js';
import { FlushScheduler } from '../../libs/batching/flush-scheduler.js';
import { deploymentKeyOf, messagesForNextWrite } from '../../libs/batching/report-batches.js';
import { DeploymentRepository, type ReportRow } from '../../libs/db/index.js';
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
/** How often the status stream and its consumer are checked (and re-created when missing). */
const WATCH_MS = 5000;
/** Wait before consuming again after the consumer's message loop ended. */
const RESTART_MS = 1000;

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
  private readonly stream: string;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching = false;

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
    this.rejected = new Counter({
      name: 'flotilla_status_reports_rejected_total',
      help: 'Malformed status reports dropped',
      registers: [registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.readiness.register('statusStream', () => this.streamProblem());
    await this.ensureAndConsume();
    // The stream or its consumer may go (deleted by hand, a NATS server that lost its store):
    // checked every few seconds, and re-created.
    this.watchTimer = setInterval(() => void this.watch(), WATCH_MS);
    this.watchTimer.unref();
  }

  /** Creates the stream and consumer if missing, and (re)starts consuming. */
  private async ensureAndConsume(): Promise<void> {
    await ensureStatusStream(
      await jetstreamManager(this.nc),
      this.stream,
      this.subjects.allStatus(),
    );
    const consumer = await jetstream(this.nc).consumers.get(this.stream, STATUS_CONSUMER);
    const previous = this.messages;
    this.messages = await consumer.consume({ max_messages: 2 * FLUSH_SIZE });
    await previous?.close().catch(() => undefined);
    void this.run(this.messages);
  }

  /** Why the status stream or its consumer cannot be used, or undefined. */
  private async streamProblem(): Promise<string | undefined> {
    const jsm = await jetstreamManager(this.nc);
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

  /**
   * Re-creates the stream or consumer when missing and consumes again; with `restart`, consumes
   * again in any case (the consumer's message loop ended).
   */
  private async watch(restart = false): Promise<void> {
    if (this.stopped || this.watching || this.nc.isClosed()) return;
    this.watching = true;
    try {
      const problem = await this.streamProblem();
      if ((problem === undefined && !restart) || this.stopped) return;
      if (problem !== undefined) this.logger.error(`${problem}; re-creating it`);
      await this.ensureAndConsume();
      if (problem === undefined) return;
      this.recreated.inc();
      this.logger.log(`status stream ${this.stream} and consumer ${STATUS_CONSUMER} are back`);
    } catch (err) {
      this.logger.error(`cannot re-create the status stream ${this.stream}: ${String(err)}`);
    } finally {
      this.watching = false;
    }
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) this.accept(msg);
    } catch (err) {
      if (!this.stopped) this.logger.error(`status consumer stopped: ${String(err)}`);
    }
    // Ended while still the current one (not replaced, not stopping): consume again.
    if (!this.stopped && this.messages === messages) {
      setTimeout(() => void this.watch(true), RESTART_MS).unref();
    }
  }

  private accept(msg: JsMsg): void {
    if (this.stopped) {
      msg.nak(); // for another replica, or the next start
      return;
    }
    const cluster = this.subjects.clusterOf(msg.subject);
    const parsed = StatusMessageSchema.safeParse(parseJson(msg.data));
    const reports = parsed.success ? reportsOf(parsed.data) : [];
    // The subject names the sender; a report about another cluster is refused.
    if (
      !parsed.success ||
      cluster === undefined ||
      parsed.data.cluster !== cluster ||
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
      const changed = await this.deployments.recordReports(rows);
      for (const msg of msgs) msg.ack();
      this.ingested.inc(rows.length);
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

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchTimer);
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

/** A status message waiting to be written. */
interface Waiting {
  msg: JsMsg;
  rows: ReportRow[];
  /** The deployment (bundle, cluster) of each report. */
  keys: string[];
}
