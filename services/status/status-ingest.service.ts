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
import { StatusReportSchema, type Subjects } from '../../libs/contracts/index.js';
import { FlushScheduler } from '../../libs/batching/flush-scheduler.js';
import { DeploymentRepository, type ReportRow } from '../../libs/db/index.js';
import {
  STATUS_CONSUMER,
  ensureStatusStream,
  parseJson,
  publishJson,
  statusStreamName,
} from '../../libs/nats/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { HUB_CONFIG, METRICS_REGISTRY, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

/** Reports are written at most this far apart, or when this many are waiting. */
const FLUSH_MS = 50;
const FLUSH_SIZE = 1000;

/**
 * Agents' status reports, from the JetStream stream into PostgreSQL in batches. A batch is
 * acked only after it is written, so a crash loses nothing (the reports are redelivered).
 * Each changed deployment is announced on `flotilla.events.deployment.<cluster>`.
 */
@Injectable()
export class StatusIngestService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StatusIngest');
  private messages: ConsumerMessages | undefined;
  private buffer: { msg: JsMsg; row: ReportRow }[] = [];
  private readonly flusher = new FlushScheduler(() => this.flush(), FLUSH_MS);
  private stopped = false;
  private readonly ingested: Counter;
  private readonly rejected: Counter;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly deployments: DeploymentRepository,
  ) {
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
    const stream = statusStreamName(this.config.subjectPrefix);
    await ensureStatusStream(await jetstreamManager(this.nc), stream, this.subjects.allStatus());
    const consumer = await jetstream(this.nc).consumers.get(stream, STATUS_CONSUMER);
    this.messages = await consumer.consume({ max_messages: 2 * FLUSH_SIZE });
    void this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) this.accept(msg);
    } catch (err) {
      if (!this.stopped) this.logger.error(`status consumer stopped: ${String(err)}`);
    }
  }

  private accept(msg: JsMsg): void {
    const cluster = this.subjects.clusterOf(msg.subject);
    const parsed = StatusReportSchema.safeParse(parseJson(msg.data));
    // The subject names the sender; a report about another cluster is refused.
    if (!parsed.success || cluster === undefined || parsed.data.cluster !== cluster) {
      this.rejected.inc();
      msg.term();
      return;
    }
    const r = parsed.data;
    const observedAt = new Date(r.observedAt);
    this.buffer.push({
      msg,
      row: {
        cluster,
        bundle: r.bundle,
        revision: r.revision,
        state: r.state,
        message: r.message,
        resources: r.resources,
        observedAt: Number.isNaN(observedAt.getTime()) ? new Date() : observedAt,
      },
    });
    this.flusher.request(this.buffer.length >= FLUSH_SIZE);
  }

  private async flush(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return;
    try {
      const changed = await this.deployments.recordReports(batch.map((b) => b.row));
      for (const b of batch) b.msg.ack();
      this.ingested.inc(batch.length);
      const at = new Date().toISOString();
      for (const c of changed) {
        publishJson(this.nc, this.subjects.event('deployment', c.cluster), {
          type: 'DeploymentChanged',
          bundle: c.bundle,
          cluster: c.cluster,
          state: c.state,
          at,
        });
      }
    } catch (err) {
      if (this.stopped) return;
      this.logger.error(
        `writing ${batch.length} status reports: ${String(err)}; they will be redelivered`,
      );
      for (const b of batch) b.msg.nak(1000);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.flusher.stop();
    await this.messages?.close().catch(() => undefined);
  }
}
