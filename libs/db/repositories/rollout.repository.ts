import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { RolloutStrategySchema } from '../../bundles/fleet-yaml.js';
import {
  type RolloutRecord,
  RolloutRecordSchema,
  type RolloutRevisions,
  RolloutRevisionsSchema,
  RolloutState,
} from '../../contracts/rollouts.js';
import { RolloutAuditEntity } from '../entities/rollout-audit.entity.js';
import { RolloutEntity } from '../entities/rollout.entity.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';

/** Rollout states after which nothing changes any more. */
export const TERMINAL_ROLLOUT_STATES = [
  'Succeeded',
  'Failed',
  'Aborted',
  'RolledBack',
  'Superseded',
];

/** One audit entry to record. */
export interface AuditEntry {
  actor: string;
  action: string;
  fromState?: string | null;
  toState?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * What a stored rollout's state and `jsonb` columns hold (libs/contracts; its strategy is the
 * bundle's, as `RolloutStrategySchema` of libs/bundles gave it, which gives a stored one back
 * unchanged).
 */
const StoredRolloutSchema = z.object({
  state: z.enum(RolloutState),
  strategy: RolloutStrategySchema,
  record: RolloutRecordSchema,
  revisions: RolloutRevisionsSchema,
});

/**
 * A rollout as read from PostgreSQL: its state, strategy, record and revisions parsed with their
 * contracts.
 */
export type Rollout = Omit<RolloutEntity, 'state' | 'strategy' | 'record' | 'revisions'> &
  z.infer<typeof StoredRolloutSchema>;

/** A stored row as a {@link Rollout}; a row that does not match the contracts is an error, never cast. */
function toRollout(row: RolloutEntity): Rollout {
  const parsed = StoredRolloutSchema.safeParse(row);
  if (!parsed.success) {
    throw new Error(
      `rollout ${row.id}: the stored rollout does not match its contract: ${z.prettifyError(parsed.error)}`,
    );
  }
  return { ...row, ...parsed.data };
}

/** Rollouts and their audit trail. */
export class RolloutRepository {
  constructor(private readonly ds: DataSource) {}

  private get repo() {
    return this.ds.getRepository(RolloutEntity);
  }

  async create(
    input: {
      bundle: string;
      fromCommit: string | null;
      toCommit: string;
      state: string;
      strategy: Record<string, unknown>;
      record: RolloutRecord;
      revisions: RolloutRevisions;
    },
    manager: EntityManager = this.ds.manager,
  ): Promise<Rollout> {
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO rollouts (bundle, from_commit, to_commit, state, strategy, record, revisions)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [
        input.bundle,
        input.fromCommit,
        input.toCommit,
        input.state,
        JSON.stringify(input.strategy),
        JSON.stringify(input.record),
        JSON.stringify(input.revisions),
      ],
    );
    return toRollout(
      await manager.getRepository(RolloutEntity).findOneByOrFail({ id: rows[0]!.id }),
    );
  }

  async get(id: string): Promise<Rollout> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError(`rollout "${id}" not found`);
    const found = await this.repo.findOneBy({ id });
    if (!found) throw new NotFoundError(`rollout "${id}" not found`);
    return toRollout(found);
  }

  /** Rollouts, newest first, optionally of one bundle and/or in one state. */
  async list(
    filter: { bundle?: string; state?: string },
    page: PageRequest,
  ): Promise<Page<Rollout>> {
    const qb = this.repo
      .createQueryBuilder('r')
      .orderBy('r.createdAt', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(page.limit + 1);
    if (filter.bundle) qb.andWhere('r.bundle = :bundle', { bundle: filter.bundle });
    if (filter.state) qb.andWhere('r.state = :state', { state: filter.state });
    if (page.after !== undefined) {
      const [at, id, ...rest] = page.after.split('|');
      if (
        at === undefined ||
        id === undefined ||
        rest.length > 0 ||
        !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{3}|\d{6})Z$/.test(at) ||
        Number.isNaN(Date.parse(at.replace(/(\.\d{3})\d{3}Z$/, '$1Z'))) ||
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
      ) {
        throw new InvalidInputError('continue token is malformed; start the list again without it');
      }
      qb.andWhere('(r.createdAt, r.id) < (CAST(:at AS timestamptz), CAST(:id AS uuid))', {
        at,
        id,
      });
    }
    // The key carries created_at to the microsecond, as PostgreSQL keeps it: a JavaScript Date
    // keeps milliseconds only, so a key made from it would skip rows created in the same millisecond.
    qb.addSelect(
      `to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
      'page_key_at',
    );
    const { entities, raw } = await qb.getRawAndEntities<{ r_id: string; page_key_at: string }>();
    const keyAt = new Map(raw.map((row) => [row.r_id, row.page_key_at]));
    return toPage(entities.map(toRollout), page.limit, (r) => `${keyAt.get(r.id)}|${r.id}`);
  }

  /** The rollout of a bundle that is not finished, if any. */
  async active(
    bundle: string,
    manager: EntityManager = this.ds.manager,
  ): Promise<Rollout | undefined> {
    const found = await manager
      .getRepository(RolloutEntity)
      .createQueryBuilder('r')
      .where('r.bundle = :bundle', { bundle })
      .andWhere('r.state NOT IN (:...done)', { done: TERMINAL_ROLLOUT_STATES })
      .orderBy('r.createdAt', 'DESC')
      .getOne();
    return found ? toRollout(found) : undefined;
  }

  /** The latest rollout of a bundle (finished or not). */
  async latest(
    bundle: string,
    manager: EntityManager = this.ds.manager,
  ): Promise<Rollout | undefined> {
    const found = await manager
      .getRepository(RolloutEntity)
      .findOne({ where: { bundle }, order: { createdAt: 'DESC' } });
    return found ? toRollout(found) : undefined;
  }

  /** Bundles with a rollout that is not finished (the controller ticks them). */
  async activeBundles(): Promise<string[]> {
    const rows: { bundle: string }[] = await this.ds.query(
      `SELECT DISTINCT bundle FROM rollouts WHERE NOT (state = ANY($1::text[]))`,
      [TERMINAL_ROLLOUT_STATES],
    );
    return rows.map((r) => r.bundle);
  }

  /**
   * Saves a rollout's new state and record, only if its record is still `previous` (what the
   * caller planned from): two hub replicas that ever drive one rollout at once (a lease that
   * lapsed under a stalled pass) cannot both record a transition. False when it changed meanwhile.
   */
  async update(
    id: string,
    change: { state: RolloutState; record: RolloutRecord; reason: string | null },
    previous: RolloutRecord,
    manager: EntityManager = this.ds.manager,
  ): Promise<boolean> {
    const finished = TERMINAL_ROLLOUT_STATES.includes(change.state);
    const rows: unknown[] = await manager.query(
      // In a CTE: the driver answers a bare UPDATE with a row count, not its rows.
      `WITH saved AS (
         UPDATE rollouts SET state = $2, record = $3, reason = $4, updated_at = now(),
                finished_at = CASE WHEN $5 THEN coalesce(finished_at, now()) ELSE NULL END
          WHERE id = $1 AND record = $6::jsonb
          RETURNING id)
       SELECT id FROM saved`,
      [
        id,
        change.state,
        JSON.stringify(change.record),
        change.reason,
        finished,
        JSON.stringify(previous),
      ],
    );
    return rows.length > 0;
  }

  /**
   * Takes the bundle's rollout lock until `manager`'s transaction ends: rollouts of one bundle
   * are created one at a time, by whichever replica, so a second finds the first.
   */
  async lockBundle(bundle: string, manager: EntityManager): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`rollout:${bundle}`]);
  }

  async audit(
    rolloutId: string,
    entries: AuditEntry[],
    manager: EntityManager = this.ds.manager,
  ): Promise<void> {
    if (entries.length === 0) return;
    await manager.query(
      `INSERT INTO rollout_audit (rollout_id, actor, action, from_state, to_state, detail)
       SELECT $1, e.actor, e.action, e.from_state, e.to_state, e.detail
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
           AS e(actor, action, from_state, to_state, detail)`,
      [
        rolloutId,
        entries.map((e) => e.actor),
        entries.map((e) => e.action),
        entries.map((e) => e.fromState ?? null),
        entries.map((e) => e.toState ?? null),
        entries.map((e) => JSON.stringify(e.detail ?? {})),
      ],
    );
  }

  async auditTrail(rolloutId: string): Promise<RolloutAuditEntity[]> {
    return this.ds
      .getRepository(RolloutAuditEntity)
      .find({ where: { rolloutId }, order: { id: 'ASC' } });
  }
}
