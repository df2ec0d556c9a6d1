import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { BootstrapResponse, Subjects } from '../../libs/contracts/index.js';
import {
  NatsRevocationRepository,
  type NatsRevocationReason,
  hashToken,
} from '../../libs/db/index.js';
import { type NatsAuthority, pushAccountJwt } from '../../libs/nats-auth/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { HUB_CONFIG, NATS_AUTH, SUBJECTS } from '../shared/tokens.js';

/** Waits between attempts to push the account JWT after a failure: 1 s, doubling up to 60 s. */
const RETRY_INITIAL_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * Agents' NATS users: issued at bootstrap (one user per agent token, derived, so every replica
 * issues the same one), revoked with the cluster or the token. Revocations are recorded in
 * PostgreSQL in the caller's transaction, then pushed to the NATS servers as the Flotilla
 * account's JWT (`$SYS.REQ.CLAIMS.UPDATE`), which disconnects the revoked agents. A push that
 * fails is retried in the background until one succeeds; each replica also pushes once at start,
 * so the servers catch up with revocations a failed push left behind. Without NATS
 * authentication (NATS_URL without FLOTILLA_NATS_AUTH_DIR) all of this does nothing.
 */
@Injectable()
export class AgentCredentialsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('NatsCredentials');
  /** The push in flight, and one more that starts after it (callers in between share it). */
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private stopped = false;

  constructor(
    @Inject(NATS_AUTH) private readonly auth: NatsAuthority | null,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly revocations: NatsRevocationRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (this.auth === null) return;
    void this.publishOrRetry();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * The bootstrap fields for the agent running with `agentToken`: its NATS user (none without
   * NATS auth) and, always, the inbox prefix its requests must use (the hub answers no other).
   */
  async issue(
    cluster: string,
    agentToken: string,
  ): Promise<Pick<BootstrapResponse, 'credentials' | 'inboxPrefix'>> {
    if (this.auth === null) return { inboxPrefix: this.subjects.agentInboxPrefix(cluster) };
    const issued = await this.auth.agentCredentials(this.subjects, cluster, hashToken(agentToken));
    return { credentials: issued.credentials, inboxPrefix: issued.inboxPrefix };
  }

  /** Records, in `manager`'s transaction, that the agent users of these tokens are revoked. */
  async recordRevocations(
    cluster: string,
    tokenHashes: readonly string[],
    reason: NatsRevocationReason,
    manager: EntityManager,
  ): Promise<void> {
    const auth = this.auth;
    if (auth === null || tokenHashes.length === 0) return;
    const keys = tokenHashes.map((hash) => auth.agentUserKey(hash));
    await this.revocations.add(keys, cluster, reason, manager);
  }

  /**
   * Pushes every recorded revocation to NATS, after the transaction that recorded them committed.
   * Resolves once NATS applied them (revoked agents are disconnected); when NATS cannot be
   * reached it logs, resolves, and keeps retrying in the background.
   */
  async publishRevocations(): Promise<void> {
    if (this.auth === null) return;
    await this.publishOrRetry();
  }

  private async publishOrRetry(): Promise<void> {
    try {
      await this.publish();
      this.retryAttempt = 0;
    } catch (err) {
      this.scheduleRetry(err);
    }
  }

  /** One push, coalesced: a call during a push waits for one more that starts after it. */
  private publish(): Promise<void> {
    if (this.current === undefined) {
      this.current = this.push().finally(() => (this.current = undefined));
      return this.current;
    }
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.publish();
      });
    return this.next;
  }

  private async push(): Promise<void> {
    const auth = this.auth;
    if (auth === null) return;
    await this.revocations.whileLocked(async (revoked) => {
      await pushAccountJwt(
        this.config.natsUrl,
        await auth.systemCredentials(),
        await auth.accountJwt(revoked),
      );
      this.logger.debug(`NATS account updated (${revoked.length} revoked agent user(s))`);
    });
  }

  private scheduleRetry(err: unknown): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const delayMs = Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** this.retryAttempt++);
    this.logger.error(
      `cannot push the NATS account JWT (revoked agents may still connect): ${(err as Error).message}; retrying in ${delayMs} ms`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) void this.publishOrRetry();
    }, delayMs);
    this.retryTimer.unref();
  }
}
