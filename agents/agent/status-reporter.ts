import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import {
  MAX_REPORTS_PER_MESSAGE,
  StatusReportSchema,
  type StatusBatch,
  type StatusReport,
} from '../../libs/contracts/index.js';
import { backoffDelayMs } from './hub-client.js';

/** A status report without the fields the reporter fills in. */
export type StatusUpdate = Omit<StatusReport, 'cluster' | 'observedAt'>;

/** What a status message may hold in JSON, well below NATS's default 1 MiB max payload. */
const MAX_MESSAGE_BYTES = 256 * 1024;

/** Options of a {@link StatusReporter}. */
export interface StatusReporterOptions {
  cluster: string;
  /** `subjects.status(cluster)`. */
  subject: string;
  /** The JetStream client of the current connection; undefined while there is none. */
  jetstream: () => JetStreamClient | undefined;
  log: Logger;
  /** Timeout of one publish (waiting for the stream's ack); default 5 s. */
  publishTimeoutMs?: number;
  /** Most reports in one message; default {@link MAX_REPORTS_PER_MESSAGE}. */
  maxReportsPerMessage?: number;
}

interface Pending {
  report: StatusReport;
  signature: string;
  /** JSON size of the report, to keep a message under {@link MAX_MESSAGE_BYTES}. */
  bytes: number;
}

/**
 * Publishes status reports to the JetStream stream that captures the status subject, waiting
 * for the ack and retrying with backoff (also while no stream exists yet: "no responders").
 *
 * - A report equal in (state, message, revision) to the bundle's previous one is not sent.
 * - One message is in flight at a time, holding the reports of several bundles
 *   ({@link StatusBatch}): reports queued in the same turn of the event loop, or while the
 *   previous message was being published, travel together (one message and one ack for a
 *   cluster's ten bundles instead of ten). A bundle's reports so stay in order.
 * - Only a bundle's newest report waits: an older one that was never sent is replaced (a stale
 *   state is not worth sending late), and a message being retried drops the reports that a
 *   newer one replaces.
 * - Every message has a `Nats-Msg-Id`, so the stream drops a retried duplicate.
 */
export class StatusReporter {
  private readonly lastQueued = new Map<string, string>();
  private readonly lastSent = new Map<string, string>();
  private readonly pending = new Map<string, Pending>();
  private inFlight: Promise<void> | undefined;
  private scheduled = false;
  private readonly stopController = new AbortController();
  private readonly publishTimeoutMs: number;
  private readonly maxReports: number;

  constructor(private readonly opts: StatusReporterOptions) {
    this.publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
    this.maxReports = Math.min(
      MAX_REPORTS_PER_MESSAGE,
      opts.maxReportsPerMessage ?? MAX_REPORTS_PER_MESSAGE,
    );
  }

  /**
   * Queues a report, stamped with the cluster and the current time, unless it repeats the last
   * (`force`: even then).
   */
  report(update: StatusUpdate, { force = false }: { force?: boolean } = {}): void {
    if (this.stopController.signal.aborted) return;
    const { bundle } = update;
    const signature = JSON.stringify([update.state, update.message, update.revision]);
    if (this.lastQueued.get(bundle) === signature && !force) return;
    this.lastQueued.set(bundle, signature);
    if (this.lastSent.get(bundle) === signature && !force) {
      // What is waiting is stale and what was sent last is current again.
      this.pending.delete(bundle);
      return;
    }
    const report = StatusReportSchema.parse({
      ...update,
      cluster: this.opts.cluster,
      observedAt: new Date().toISOString(),
    });
    // A newer report goes to the back: older waiting reports are sent first.
    this.pending.delete(bundle);
    this.pending.set(bundle, { report, signature, bytes: JSON.stringify(report).length });
    this.schedule();
  }

  /** Stops publishing: reports not yet sent are dropped; resolves when the publish in flight ends. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.pending.clear();
    await this.inFlight?.catch(() => undefined);
  }

  /** Sends what is waiting after this turn of the event loop, so that its reports travel together. */
  private schedule(): void {
    if (this.scheduled || this.inFlight !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight !== undefined || this.pending.size === 0) return;
    if (this.stopController.signal.aborted) return;
    const batch = this.take();
    this.inFlight = this.publish(batch).finally(() => {
      this.inFlight = undefined;
      this.pump();
    });
  }

  /** Takes the oldest waiting reports that fit one message. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    for (const [bundle, next] of this.pending) {
      if (batch.length >= this.maxReports) break;
      if (batch.length > 0 && bytes + next.bytes > MAX_MESSAGE_BYTES) break;
      batch.push(next);
      bytes += next.bytes;
      this.pending.delete(bundle);
      this.lastSent.set(bundle, next.signature);
    }
    return batch;
  }

  private async publish(batch: Pending[]): Promise<void> {
    const signal = this.stopController.signal;
    let id = randomUUID();
    for (let attempt = 0; !signal.aborted; attempt++) {
      const js = this.opts.jetstream();
      const message: StatusBatch = {
        cluster: this.opts.cluster,
        reports: batch.map((p) => p.report),
      };
      try {
        if (js === undefined) throw new Error('not connected to NATS');
        await js.publish(this.opts.subject, JSON.stringify(message), {
          msgID: id,
          timeout: this.publishTimeoutMs,
        });
        this.opts.log.debug(
          { bundles: batch.map((p) => `${p.report.bundle}=${p.report.state}`) },
          'status reported',
        );
        return;
      } catch (err) {
        if (signal.aborted) return;
        // Reports that a newer one replaces are not worth sending any more.
        const current = batch.filter((p) => !this.pending.has(p.report.bundle));
        for (const p of batch) {
          // Never sent after all: a later equal report must not be taken for a repeat.
          if (!current.includes(p)) this.lastSent.delete(p.report.bundle);
        }
        if (current.length === 0) return;
        if (current.length !== batch.length) {
          batch = current;
          id = randomUUID(); // other content: not a duplicate of what may have arrived
        }
        const delayMs = backoffDelayMs(attempt, 250, 10_000);
        const level = attempt === 0 ? 'warn' : 'debug';
        this.opts.log[level](
          { err, bundles: batch.map((p) => p.report.bundle), retryInMs: delayMs },
          'publishing status reports failed; retrying',
        );
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
