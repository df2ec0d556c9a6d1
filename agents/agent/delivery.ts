import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  type PayloadVerifier,
  SIGNATURE_HEADER,
  DesiredMessageSchema,
  type DesiredMessage,
  DesiredSequence,
  changesOf,
  envelopeProblem,
  SyncReplySchema,
  type DesiredState,
  type Subjects,
  type SyncRequest,
} from '../../libs/contracts/index.js';
import { parseJson } from '../../libs/nats/index.js';
import type { Applier } from './cluster-driver.js';
import {
  CONTENT_ERROR_HEADER,
  ContentCache,
  ContentFetcher,
  InvalidContentError,
  errorMessage,
  short,
  untilAborted,
} from './content.js';
import { backoffDelayMs } from './hub-client.js';
import { StatusReporter } from './status-reporter.js';

type Upsert = Extract<DesiredState, { kind: 'Upsert' }>;
type Remove = Extract<DesiredState, { kind: 'Remove' }>;

/** Options of {@link Delivery}. */
export interface DeliveryOptions {
  cluster: string;
  subjects: Subjects;
  /** The cluster driver that applies bundles. */
  applier: Applier;
  log: Logger;
  /** Revisions whose content is kept in memory; default 64. */
  cacheRevisions?: number;
  /** Bytes of content kept in memory at most; default 256 MiB. */
  cacheBytes?: number;
  /** Timeout of one request to the hub (sync, content chunk) and of one status publish; default 10 s. */
  requestTimeoutMs?: number;
  /** First delay before a failed fetch, apply or remove is tried again; default 1 s (doubling, up to 1 min). */
  retryDelayMs?: number;
  /** Verifies the hub's signatures; desired state and sync replies without a valid one are refused. */
  verifier: PayloadVerifier;
}

/** Work on one bundle: at most one task runs; only the newest desired state waits. */
interface BundleWork {
  readonly bundle: string;
  /** Newest desired state not yet started. */
  pending: DesiredState | undefined;
  /** The desired state being worked on; an Upsert still fetching is aborted when superseded. */
  current: { desired: DesiredState; abort: AbortController; applying: boolean } | undefined;
  /** The bundle's status should be reported again (its health changed). */
  refresh: boolean;
  /** The next refresh reports even an unchanged status (the hub may have missed it). */
  forceReport: boolean;
  running: Promise<void> | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  retryAttempt: number;
}

/** Desired-state messages kept while the first sync is under way (looked at once it is done). */
const MAX_EARLY_MESSAGES = 1000;

/**
 * The agent's delivery loop: receives desired state on `desired(cluster)`, resyncs with the hub
 * on every (re)connect, fetches revisions' content (cached, shared between bundles), applies
 * and removes bundles with the cluster driver, and reports their status to the hub.
 *
 * Per bundle, desired states are handled in arrival order, and only the newest one that has not
 * started waits (desired state is a level, not an event): an Upsert still fetching its content
 * is abandoned for a newer desired state; an apply in progress is finished first. One bundle's
 * failure never blocks another. A failed fetch, apply or remove is reported ErrApplied and tried
 * again with backoff, and so is an apply that left objects out (one another bundle owns, which
 * that bundle's removal releases); content that is not a JSON array is reported ErrApplied and
 * not retried.
 */
export class Delivery {
  private readonly log: Logger;
  private readonly cache: ContentCache;
  private readonly fetcher: ContentFetcher;
  private readonly reporter: StatusReporter;
  private readonly work = new Map<string, BundleWork>();
  private readonly requestTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly stopController = new AbortController();
  private readonly unsubscribeChanges: () => void;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private subscription: Subscription | undefined;
  /** Which desired states may still apply (the hub's per-cluster sequence numbers). */
  private readonly sequence = new DesiredSequence();
  /** Desired-state messages that came before the first sync reply. */
  private early: DesiredMessage[] = [];
  /** Desired-state messages and sync replies refused for a bad or missing signature. */
  refused = 0;
  /** Payloads refused for naming another cluster, and changes refused as older than one accepted. */
  refusedForeign = 0;
  refusedStale = 0;
  private syncAbort: AbortController | undefined;
  private syncing: Promise<void> | undefined;

  constructor(private readonly opts: DeliveryOptions) {
    this.log = opts.log;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.retryDelayMs = opts.retryDelayMs ?? 1_000;
    this.cache = new ContentCache(opts.cacheRevisions, opts.cacheBytes);
    const contentSubject = opts.subjects.content(opts.cluster);
    this.fetcher = new ContentFetcher({
      cache: this.cache,
      request: (payload) => this.request(contentSubject, payload),
    });
    this.reporter = new StatusReporter({
      cluster: opts.cluster,
      subject: opts.subjects.status(opts.cluster),
      jetstream: () => this.js,
      log: opts.log,
      publishTimeoutMs: this.requestTimeoutMs,
    });
    this.unsubscribeChanges = opts.applier.onChange((bundle) => this.refresh(bundle));
  }

  /**
   * Starts using a new NATS connection: subscribes to the cluster's desired state, then asks the
   * hub for what differs from what the cluster holds.
   */
  attach(nc: NatsConnection): void {
    if (this.stopping) return;
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.requestTimeoutMs });
    this.subscription = nc.subscribe(this.opts.subjects.desired(this.opts.cluster), {
      callback: (err, msg) => {
        if (err !== null) {
          this.log.warn({ err }, 'desired-state subscription failed');
          return;
        }
        this.onDesired(msg);
      },
    });
    this.resync();
  }

  /** Sends a sync request (again), e.g. after the connection came back; retried until answered. */
  resync(): void {
    if (this.stopping || this.nc === undefined) return;
    this.syncAbort?.abort(new Error('superseded by a newer sync'));
    const abort = new AbortController();
    this.syncAbort = abort;
    const previous = this.syncing ?? Promise.resolve();
    this.syncing = previous.then(() =>
      this.syncLoop(AbortSignal.any([abort.signal, this.stopController.signal])),
    );
  }

  /** Stops receiving, abandons fetches and retries, and waits for applies and reports under way. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopController.abort(new Error('agent stopping'));
    this.unsubscribeChanges();
    if (this.subscription !== undefined && !this.subscription.isClosed()) {
      this.subscription.unsubscribe();
    }
    for (const work of this.work.values()) {
      clearTimeout(work.retryTimer);
      work.pending = undefined;
      work.current?.abort.abort(new Error('agent stopping'));
    }
    await this.syncing;
    await Promise.allSettled([...this.work.values()].map((w) => w.running ?? Promise.resolve()));
    await this.reporter.stop();
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private onDesired(msg: Msg): void {
    if (!this.opts.verifier.verify(msg.data, msg.headers?.get(SIGNATURE_HEADER))) {
      this.refused += 1;
      this.log.error(
        { subject: msg.subject, refused: this.refused },
        'refusing a desired-state message that is unsigned or not signed by the pinned hub key',
      );
      return;
    }
    const parsed = DesiredMessageSchema.safeParse(parseJson(msg.data));
    if (!parsed.success) {
      this.log.warn(
        {
          subject: msg.subject,
          problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
        },
        'skipping a malformed desired-state message',
      );
      return;
    }
    const foreign = envelopeProblem(this.opts.cluster, parsed.data);
    if (foreign !== undefined) {
      this.refusedForeign += 1;
      this.log.error(
        { subject: msg.subject, seq: parsed.data.seq },
        `refusing a desired-state message: ${foreign}`,
      );
      return;
    }
    if (!this.sequence.hasSynced) {
      // No floor yet (the agent just started): looked at once the first sync reply is in.
      if (this.early.length < MAX_EARLY_MESSAGES) this.early.push(parsed.data);
      return;
    }
    this.applyDesired(parsed.data);
  }

  /** Enqueues a message's changes that are newer than what was accepted for their bundles. */
  private applyDesired(message: DesiredMessage): void {
    const changes = changesOf(message);
    const verdicts = this.sequence.acceptDesired(
      message.seq,
      changes.map((c) => c.bundle),
    );
    const stale = changes.filter((_, i) => !verdicts[i]);
    if (stale.length > 0) {
      this.refusedStale += stale.length;
      this.log.warn(
        { seq: message.seq, issuedAt: message.issuedAt, bundles: stale.map((c) => c.bundle) },
        'refusing desired states older than ones already accepted (a message sent again?)',
      );
    }
    // Several bundles' changes may come in one message; they are applied in order.
    changes.forEach((change, i) => {
      if (verdicts[i]) this.enqueue(change);
    });
  }

  private bundleWork(bundle: string): BundleWork {
    let work = this.work.get(bundle);
    if (work === undefined) {
      work = {
        bundle,
        pending: undefined,
        current: undefined,
        refresh: false,
        forceReport: false,
        running: undefined,
        retryTimer: undefined,
        retryAttempt: 0,
      };
      this.work.set(bundle, work);
    }
    return work;
  }

  private enqueue(desired: DesiredState): void {
    if (this.stopping) return;
    const work = this.bundleWork(desired.bundle);
    clearTimeout(work.retryTimer);
    work.retryTimer = undefined;
    work.retryAttempt = 0;
    const current = work.current;
    if (current !== undefined && sameDesired(current.desired, desired)) {
      work.pending = undefined; // already under way
      return;
    }
    work.pending = desired;
    if (current !== undefined && !current.applying) {
      current.abort.abort(new Error('superseded by a newer desired state'));
    }
    this.run(work);
  }

  private refresh(bundle: string, force = false): void {
    if (this.stopping) return;
    const work = this.bundleWork(bundle);
    work.refresh = true;
    if (force) work.forceReport = true;
    this.run(work);
  }

  private run(work: BundleWork): void {
    if (work.running !== undefined || this.stopping) return;
    work.running = this.drain(work).finally(() => {
      work.running = undefined;
      if ((work.pending !== undefined || work.refresh) && !this.stopping) this.run(work);
    });
  }

  private async drain(work: BundleWork): Promise<void> {
    while (!this.stopping) {
      const desired = work.pending;
      if (desired !== undefined) {
        work.pending = undefined;
        const abort = new AbortController();
        work.current = { desired, abort, applying: false };
        try {
          if (desired.kind === 'Upsert') await this.upsert(work, desired, abort.signal);
          else await this.remove(work, desired);
        } finally {
          work.current = undefined;
        }
      } else if (work.refresh) {
        work.refresh = false;
        const force = work.forceReport;
        work.forceReport = false;
        await this.reportStatus(work.bundle, force).catch((err: unknown) => {
          this.log.warn({ err, bundle: work.bundle }, 'cannot read the bundle status');
        });
      } else {
        return;
      }
    }
  }

  private async upsert(work: BundleWork, desired: Upsert, signal: AbortSignal): Promise<void> {
    const { bundle, revision } = desired;
    const log = this.log.child({ bundle, revision: short(revision), commit: desired.commit });
    this.reporter.report({
      bundle,
      revision,
      state: 'WaitApplied',
      message: `applying revision ${short(revision)}`,
      resources: [],
    });
    try {
      const objects = await this.fetcher.fetch(desired, signal);
      signal.throwIfAborted();
      work.current!.applying = true;
      const result = await this.opts.applier.apply(bundle, revision, objects, desired.options);
      const counts = {
        created: result.created.length,
        configured: result.configured.length,
        unchanged: result.unchanged.length,
        pruned: result.pruned.length,
      };
      const failed = result.failed ?? [];
      if (failed.length > 0) {
        log.error({ ...counts, failed }, 'bundle applied with failures');
      } else {
        log.info(counts, 'bundle applied');
        work.retryAttempt = 0;
      }
      // Always reported: a desired state the agent already runs comes again only when the hub
      // has not seen its report (lost at a hub restart), so an unchanged status must go too.
      await this.reportStatus(bundle, true);
      // Objects left out are tried again, with backoff: one another bundle owns is released when
      // that bundle is removed, and a bundle renamed or moved to another path (its objects
      // changing bundle) may be applied under its new name before the old name's Remove has run.
      if (failed.length > 0) {
        this.retryLater(work, desired, log, `${failed.length} object(s) not applied`);
      }
    } catch (err) {
      if (signal.aborted || this.stopping) {
        log.debug({ reason: errorMessage(signal.reason) }, 'abandoned applying a revision');
        return;
      }
      const message = errorMessage(err);
      this.reporter.report({ bundle, revision, state: 'ErrApplied', message, resources: [] });
      if (err instanceof InvalidContentError) {
        log.error({ err }, 'the revision content is invalid; waiting for another revision');
        return;
      }
      this.retryLater(work, desired, log, message);
    }
  }

  private async remove(work: BundleWork, desired: Remove): Promise<void> {
    const { bundle } = desired;
    const log = this.log.child({ bundle });
    let revision: string | null = null;
    try {
      const held = (await this.opts.applier.heldBundles()).find((h) => h.bundle === bundle);
      revision = held?.revision ?? null;
      const keepResources = held?.options.keepResources ?? false;
      await this.opts.applier.remove(bundle, { keepResources });
      log.info({ keepResources, held: held !== undefined }, 'bundle removed');
      work.retryAttempt = 0;
      this.reporter.report({
        bundle,
        revision: null,
        state: 'Removed',
        message: keepResources ? 'resources kept (keepResources)' : '',
        resources: [],
      });
    } catch (err) {
      if (this.stopping) return;
      const message = `cannot remove the bundle: ${errorMessage(err)}`;
      this.reporter.report({ bundle, revision, state: 'ErrApplied', message, resources: [] });
      this.retryLater(work, desired, log, message);
    }
  }

  private retryLater(work: BundleWork, desired: DesiredState, log: Logger, message: string): void {
    const delayMs = backoffDelayMs(work.retryAttempt++, this.retryDelayMs, 60_000);
    log.warn({ retryInMs: delayMs, reason: message }, 'bundle failed; trying again later');
    clearTimeout(work.retryTimer);
    work.retryTimer = setTimeout(() => {
      work.retryTimer = undefined;
      if (this.stopping || work.pending !== undefined || work.current !== undefined) return;
      work.pending = desired;
      this.run(work);
    }, delayMs);
  }

  /** Reports a bundle's status; unless `force`, only when it differs from the last report. */
  private async reportStatus(bundle: string, force = false): Promise<void> {
    const status = await this.opts.applier.bundleStatus(bundle);
    if (status === undefined) return;
    this.reporter.report(
      {
        bundle,
        revision: status.revision,
        state: status.state,
        message: status.message,
        resources: status.resources,
      },
      { force },
    );
  }

  /** Sync requests until one is answered, unless a newer sync or stop() takes over. */
  private async syncLoop(signal: AbortSignal): Promise<void> {
    const subject = this.opts.subjects.sync(this.opts.cluster);
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const held = await this.opts.applier.heldBundles();
        const request: SyncRequest = {
          held: held.map((h) => ({ bundle: h.bundle, revision: h.revision })),
        };
        const reply = await untilAborted(this.request(subject, JSON.stringify(request)), signal);
        const error = reply.headers?.has(CONTENT_ERROR_HEADER)
          ? reply.headers.get(CONTENT_ERROR_HEADER)
          : undefined;
        if (error !== undefined) throw new Error(`the hub refused the sync: ${error}`);
        if (!this.opts.verifier.verify(reply.data, reply.headers?.get(SIGNATURE_HEADER))) {
          this.refused += 1;
          throw new Error(
            'the sync reply is unsigned or not signed by the pinned hub key; refusing it',
          );
        }
        const parsed = SyncReplySchema.safeParse(parseJson(reply.data));
        if (!parsed.success) {
          throw new Error(
            `malformed sync reply: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
          );
        }
        const foreign = envelopeProblem(this.opts.cluster, parsed.data);
        if (foreign !== undefined) {
          this.refusedForeign += 1;
          throw new Error(`refusing the sync reply: ${foreign}`);
        }
        if (signal.aborted) return;
        const changes = parsed.data.changes;
        const verdicts = this.sequence.acceptSync(
          parsed.data.seq,
          changes.map((c) => c.bundle),
        );
        if (verdicts === undefined) {
          throw new Error(
            `the sync reply (number ${parsed.data.seq}) is not newer than one accepted before; refusing it`,
          );
        }
        const changed = new Set<string>();
        changes.forEach((change, i) => {
          changed.add(change.bundle);
          // A desired-state message accepted after the reply was made is newer.
          if (verdicts[i]) this.enqueue(change);
        });
        // What came before the first reply: only what is newer than the reply applies.
        const early = this.early;
        this.early = [];
        for (const message of early) this.applyDesired(message);
        // Report what did not change too: the hub may have missed it (e.g. after a restart).
        for (const h of held) if (!changed.has(h.bundle)) this.refresh(h.bundle, true);
        this.log.info(
          { held: held.length, changes: parsed.data.changes.length },
          'synced with the hub',
        );
        return;
      } catch (err) {
        if (signal.aborted) return;
        const delayMs = backoffDelayMs(attempt, 500, 30_000);
        this.log.warn(
          { reason: errorMessage(err), retryInMs: delayMs },
          'sync with the hub failed; retrying',
        );
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private request(subject: string, payload: string): Promise<Msg> {
    const nc = this.nc;
    if (nc === undefined || nc.isClosed()) {
      return Promise.reject(new Error('not connected to NATS'));
    }
    return nc.request(subject, payload, { timeout: this.requestTimeoutMs });
  }
}

function sameDesired(a: DesiredState, b: DesiredState): boolean {
  if (a.kind === 'Remove' || b.kind === 'Remove') return a.kind === b.kind;
  return a.revision === b.revision;
}
