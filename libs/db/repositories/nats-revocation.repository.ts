import type { DataSource, EntityManager } from 'typeorm';
import { NatsRevocationEntity } from '../entities/nats-revocation.entity.js';

/** Why an agent's NATS user was revoked. */
export type NatsRevocationReason = 'cluster-deleted' | 'token-rotated';

/** Advisory lock key under which the account JWT is built and pushed (see `whileLocked`). */
const ACCOUNT_UPDATE_LOCK = 'flotilla:nats-account-jwt';

/**
 * Revoked NATS users of agents. Kept forever: the Flotilla account's JWT, which replaces its
 * predecessor wholesale, must always list all of them.
 */
export class NatsRevocationRepository {
  constructor(private readonly ds: DataSource) {}

  /** Records revocations (idempotent), in `manager`'s transaction when given. */
  async add(
    userPublicKeys: readonly string[],
    clusterName: string,
    reason: NatsRevocationReason,
    manager: EntityManager = this.ds.manager,
  ): Promise<void> {
    if (userPublicKeys.length === 0) return;
    await manager
      .createQueryBuilder()
      .insert()
      .into(NatsRevocationEntity)
      .values(userPublicKeys.map((userPublicKey) => ({ userPublicKey, clusterName, reason })))
      .orIgnore()
      .execute();
  }

  /** Every revoked user key, sorted. */
  async userPublicKeys(manager: EntityManager = this.ds.manager): Promise<string[]> {
    const rows = await manager.find(NatsRevocationEntity, {
      select: { userPublicKey: true },
      order: { userPublicKey: 'ASC' },
    });
    return rows.map((r) => r.userPublicKey);
  }

  /**
   * Runs `fn` with every revoked user key while holding a PostgreSQL advisory lock, so that hub
   * replicas push account JWTs one at a time: the last one pushed then lists every revocation
   * committed before it.
   */
  async whileLocked<T>(fn: (userPublicKeys: string[]) => Promise<T>): Promise<T> {
    return this.ds.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ACCOUNT_UPDATE_LOCK]);
      return fn(await this.userPublicKeys(m));
    });
  }
}
