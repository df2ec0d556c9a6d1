import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { StatusReportSchema, type StatusReport } from '../../libs/contracts/index.js';
import { backoffDelayMs } from './hub-client.js';

/** A status report without the fields the reporter fills in. */
export type StatusUpdate = Omit<StatusReport, 'cluster' | 'observedAt'>;

/** Options of a {@link StatusReporter}. */
export interface StatusReporterOptions {
  cluster: string;
  /** `subjects.status(cluster)`. */
  subject: string;
  /** The JetStream client of the current connection; undefined while there is none. */
  jetstream: () => JetStreamClient | undefined;
  log: Logger;
  /** Bundles whose reports are published at once; default 16. */
  concurrency?: number;
  /** Timeout of one publish (waiting for the stream's ack); default 5 s. */
  publishTimeoutMs?: number;
}

/**
 * Publishes status reports to the JetStream stream that captures the status subject, waiting
 * for the ack and retrying with backoff (also while no stream exists yet: "no responders").
 *
 * - A report equal in (state, message, revision) to the bundle's previous one is not sent.
 * - One bundle's reports are published one at a time, in order; different bundles in parallel.
 * - While a bundle's report is still being published, only its newest next report waits: an
 *   older one that was never sent is replaced (a stale state is not worth sending late), and a
 *   report being retried is given up when a newer one is waiting.
 * - Every report has a `Nats-Msg-Id`, so the stream drops a retried duplicate.
 */
export class StatusReporter {
  private readonly lastQueued = new Map<string, string>();
  private readonly lastSent = new Map<string, string>();
  private readonly pending = new Map<string, { report: StatusReport; id: string }>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopController = new AbortController();
  private readonly concurrency: number;
  private readonly publishTimeoutMs: number;

  constructor(private readonly opts: StatusReporterOptions) {
    this.concurrency = opts.concurrency ?? 16;
    this.publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
  }

  /** Queues a report, stamped with the cluster and the current time, unless it repeats the last. */
  report(update: StatusUpdate): void {
    if (this.stopController.signal.aborted) return;
    const { bundle } = update;
    const signature = JSON.stringify([update.state, update.message, update.revision]);
    if (this.lastQueued.get(bundle) === signature) return;
    this.lastQueued.set(bundle, signature);
    if (this.lastSent.get(bundle) === signature) {
      // What is waiting is stale and what was sent last is current again.
      this.pending.delete(bundle);
      return;
    }
    const report = StatusReportSchema.parse({
      ...update,
      cluster: this.opts.cluster,
      observedAt: new Date().toISOString(),
    });
    this.pending.set(bundle, { report, id: randomUUID() });
    this.pump();
  }

  /** Stops publishing: reports not yet sent are dropped; resolves when publishes in flight end. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.pending.clear();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private pump(): void {
    for (const [bundle, next] of this.pending) {
      if (this.inFlight.size >= this.concurrency) return;
      if (this.inFlight.has(bundle)) continue;
      this.pending.delete(bundle);
      const { report } = next;
      this.lastSent.set(bundle, JSON.stringify([report.state, report.message, report.revision]));
      const publishing = this.publish(next.report, next.id).finally(() => {
        this.inFlight.delete(bundle);
        this.pump();
      });
      this.inFlight.set(bundle, publishing);
    }
  }

  private async publish(report: StatusReport, id: string): Promise<void> {
    const signal = this.stopController.signal;
    for (let attempt = 0; !signal.aborted; attempt++) {
      const js = this.opts.jetstream();
      try {
        if (js === undefined) throw new Error('not connected to NATS');
        await js.publish(this.opts.subject, JSON.stringify(report), {
          msgID: id,
          timeout: this.publishTimeoutMs,
        });
        this.opts.log.debug(
          { bundle: report.bundle, state: report.state, revision: report.revision },
          'status reported',
        );
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (this.pending.has(report.bundle)) return; // a newer report replaces this one
        const delayMs = backoffDelayMs(attempt, 250, 10_000);
        const level = attempt === 0 ? 'warn' : 'debug';
        this.opts.log[level](
          { err, bundle: report.bundle, state: report.state, retryInMs: delayMs },
          'publishing a status report failed; retrying',
        );
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
