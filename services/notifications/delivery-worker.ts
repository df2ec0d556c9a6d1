import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import type { HubConfig } from '../../libs/config/config.js';
import {
  GitRepoRepository,
  NotFoundError,
  type NotificationDelivery,
  NotificationRepository,
  type NotificationTarget,
} from '../../libs/db/index.js';
import { TokenBuckets } from '../../libs/gateway/index.js';
import {
  NotApplicableError,
  type RenderGitRepo,
  type TargetType,
  afterFailure,
  defaultBackoff,
  isForge,
  renderRequest,
} from '../../libs/notifications/index.js';
import { HUB_CONFIG, METRICS_REGISTRY } from '../shared/tokens.js';
import { send } from './http-sender.js';

/** How often the outbox is checked when nothing pokes the worker. */
const POLL_MS = 1_000;
/** Deliveries claimed at once. */
const BATCH = 20;
/** Delivered rows are kept this long (visible in the API), then pruned. */
const KEEP_DELIVERED_MS = 7 * 24 * 3_600_000;
/** How often delivered rows are pruned. */
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Sends the outbox: claims due deliveries (`FOR UPDATE SKIP LOCKED`, so replicas share the
 * work), renders each for its target, sends it within the target's timeout and rate limit, and
 * records the outcome: delivered, retried later with back-off and jitter, or dead-lettered.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Notifications');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private lastPrune = 0;
  private stopped = false;
  /** Per target: its rate buckets (replaced when the target's rate differs). */
  private readonly buckets = new Map<string, { rate: number; buckets: TokenBuckets }>();

  constructor(
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly store: NotificationRepository,
    private readonly gitrepos: GitRepoRepository,
  ) {
    const outbox = this.store;
    new Gauge({
      name: 'flotilla_notification_outbox_pending',
      help: 'Notification deliveries waiting in the outbox',
      registers: [registry],
      async collect() {
        this.set(await outbox.pendingCount());
      },
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.poke(), POLL_MS);
    this.timer.unref();
    this.poke();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Checks the outbox now (or right after the pass in progress). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.logger.error(`sending notifications: ${String(err)}`))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** The type of a target, or null when it does not exist. */
  async targetType(name: string): Promise<TargetType | null> {
    try {
      return (await this.store.getTarget(name)).type;
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  private async drain(): Promise<void> {
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      await this.store.pruneDelivered(KEEP_DELIVERED_MS);
    }
    while (!this.stopped) {
      // The lease covers the longest timeout a target may have, and then some.
      const claimed = await this.store.claimDue(BATCH, 90_000);
      if (claimed.length === 0) return;
      // Targets in parallel, each one's deliveries in the order they were written: a commit's
      // `pending` and `success` for one forge must not cross (the last status sent wins).
      const byTarget = new Map<string, NotificationDelivery[]>();
      for (const d of [...claimed].sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))) {
        const list = byTarget.get(d.target);
        if (list === undefined) byTarget.set(d.target, [d]);
        else list.push(d);
      }
      await Promise.all(
        [...byTarget.values()].map(async (list) => {
          for (const d of list) await this.deliver(d);
        }),
      );
    }
  }

  private async deliver(d: NotificationDelivery): Promise<void> {
    let target: NotificationTarget;
    try {
      target = await this.store.getTarget(d.target);
    } catch (err) {
      if (err instanceof NotFoundError) return; // deleted: its deliveries went with it
      throw err;
    }
    // A commit status retried after a later (or final) one for the same context and commit was
    // delivered would overwrite the forge's state: it is superseded, not sent.
    if (isForge(target.type) && (await this.store.supersedeIfStale(d))) return;
    if (!this.bucketOf(target).take(target.name, Date.now())) {
      await this.store.defer(d.id, Math.ceil(60_000 / target.rateLimitPerMinute));
      return;
    }
    let error: string;
    try {
      const req = renderRequest(
        {
          name: target.name,
          type: target.type,
          url: target.url?.reveal() ?? null,
          hmacKey: target.hmacKey?.reveal() ?? null,
          token: target.token?.reveal() ?? null,
          context: target.context,
        },
        d.event,
        await this.gitrepoOf(d.event.gitrepo),
      );
      const result = await send(req, {
        allowHttp: target.allowHttp,
        allowPrivate: this.config.notificationsAllowPrivate,
        timeoutMs: target.timeoutMs,
      });
      if (result.ok) {
        await this.store.markDelivered(d.id);
        return;
      }
      error = result.error;
    } catch (err) {
      if (err instanceof NotApplicableError) {
        await this.store.markFailed(d.id, err.message, null);
        return;
      }
      error = err instanceof Error ? err.message : String(err);
    }
    const next = afterFailure(d.attempts, defaultBackoff);
    this.logger.warn(
      `notification ${d.eventId} to ${d.target}, attempt ${d.attempts}: ${error}` +
        ('deadLetter' in next ? ' (dead-lettered)' : ''),
    );
    await this.store.markFailed(d.id, error, 'deadLetter' in next ? null : next.retryInMs);
  }

  private bucketOf(target: NotificationTarget): TokenBuckets {
    const known = this.buckets.get(target.name);
    if (known?.rate === target.rateLimitPerMinute) return known.buckets;
    const buckets = new TokenBuckets({
      burst: Math.max(1, Math.min(10, target.rateLimitPerMinute)),
      perSecond: target.rateLimitPerMinute / 60,
    });
    this.buckets.set(target.name, { rate: target.rateLimitPerMinute, buckets });
    return buckets;
  }

  private async gitrepoOf(name: string | undefined): Promise<RenderGitRepo | null> {
    if (name === undefined) return null;
    try {
      const repo = await this.gitrepos.get(name);
      const creds = repo.credentials?.reveal() ?? null;
      return {
        url: repo.url,
        token: creds === null ? null : 'token' in creds ? creds.token : creds.password,
      };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }
}
