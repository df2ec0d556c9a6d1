import type { DataSource } from 'typeorm';
import {
  type NotificationEvent,
  NotificationEventSchema,
  type NotificationRuleSpec,
  NotificationRuleSpecSchema,
  type NotificationTargetSpec,
  type TargetType,
  supersededBy,
} from '../../notifications/index.js';
import { Secret, type SecretBox } from '../../secrets/index.js';
import { NotificationTargetEntity } from '../entities/notification.entity.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';
import { queryReturning } from '../returning.js';

/** A target as the hub uses it: its secrets decrypted, wrapped so they stay out of logs and JSON. */
export interface NotificationTarget {
  name: string;
  type: TargetType;
  url: Secret<string> | null;
  hmacKey: Secret<string> | null;
  token: Secret<string> | null;
  allowHttp: boolean;
  rateLimitPerMinute: number;
  timeoutMs: number;
  context: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored rule. */
export interface NotificationRule extends NotificationRuleSpec {
  name: string;
  createdAt: Date;
}

/** States of an outbox row. */
export const DeliveryState = {
  /** Not delivered yet: due at `nextAttemptAt`. */
  Pending: 'Pending',
  Delivered: 'Delivered',
  /** Given up after the last attempt (dead letter). */
  Dead: 'Dead',
  /**
   * Not sent, and never will be: a commit status made stale by a later (or final) status for the
   * same target, context and commit that was already delivered. Not an error.
   */
  Superseded: 'Superseded',
} as const;
export type DeliveryState = (typeof DeliveryState)[keyof typeof DeliveryState];

/** One outbox row: an event for a target. */
export interface NotificationDelivery {
  id: string;
  eventId: string;
  target: string;
  event: NotificationEvent;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const targetContext = (name: string, field: string) => `notification_targets:${name}:${field}`;

/**
 * Notification targets (secrets encrypted with the hub's SecretBox), rules, and the outbox of
 * deliveries. Claims use `FOR UPDATE SKIP LOCKED`, so several replicas share the outbox.
 */
export class NotificationRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly box: SecretBox,
  ) {}

  async createTarget(name: string, spec: NotificationTargetSpec): Promise<NotificationTarget> {
    const seal = (field: string, value: string | undefined) =>
      value === undefined ? null : this.box.encrypt(value, targetContext(name, field));
    try {
      await this.ds.query(
        `INSERT INTO notification_targets
           (name, type, url, hmac_key, token, allow_http, rate_limit_per_minute, timeout_ms, context)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          name,
          spec.type,
          seal('url', spec.url),
          seal('hmac_key', spec.hmacKey),
          seal('token', spec.token),
          spec.allowHttp,
          spec.rateLimitPerMinute,
          spec.timeoutMs,
          spec.context,
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ConflictError(`notification target "${name}" already exists`);
      }
      throw err;
    }
    return this.getTarget(name);
  }

  async getTarget(name: string): Promise<NotificationTarget> {
    const found = await this.ds.getRepository(NotificationTargetEntity).findOneBy({ name });
    if (!found) throw new NotFoundError(`notification target "${name}" not found`);
    return this.open(found);
  }

  async listTargets(page: PageRequest): Promise<Page<NotificationTarget>> {
    const qb = this.ds
      .getRepository(NotificationTargetEntity)
      .createQueryBuilder('t')
      .orderBy('t.name', 'ASC')
      .limit(page.limit + 1);
    if (page.after !== undefined) qb.where('t.name > :after', { after: page.after });
    const result = toPage(await qb.getMany(), page.limit, (t) => t.name);
    return { ...result, items: result.items.map((t) => this.open(t)) };
  }

  /** Deletes a target and its deliveries; rules naming it keep the name (and skip it). */
  async deleteTarget(name: string): Promise<void> {
    const result = await this.ds.getRepository(NotificationTargetEntity).delete({ name });
    if (!result.affected) throw new NotFoundError(`notification target "${name}" not found`);
  }

  /** Names of the targets that exist among `names`. */
  async existingTargets(names: readonly string[]): Promise<string[]> {
    const rows: { name: string }[] = await this.ds.query(
      `SELECT name FROM notification_targets WHERE name = ANY($1::text[]) ORDER BY name`,
      [names],
    );
    return rows.map((r) => r.name);
  }

  async createRule(name: string, spec: NotificationRuleSpec): Promise<NotificationRule> {
    try {
      await this.ds.query(`INSERT INTO notification_rules (name, spec) VALUES ($1, $2)`, [
        name,
        JSON.stringify(spec),
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ConflictError(`notification rule "${name}" already exists`);
      }
      throw err;
    }
    return this.getRule(name);
  }

  async getRule(name: string): Promise<NotificationRule> {
    const rows: RuleRow[] = await this.ds.query(
      `SELECT name, spec, created_at FROM notification_rules WHERE name = $1`,
      [name],
    );
    const row = rows[0];
    if (row === undefined) throw new NotFoundError(`notification rule "${name}" not found`);
    return openRule(row);
  }

  async listRules(page: PageRequest): Promise<Page<NotificationRule>> {
    const rows: RuleRow[] = await this.ds.query(
      `SELECT name, spec, created_at FROM notification_rules
        WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2`,
      [page.after ?? null, page.limit + 1],
    );
    return toPage(rows.map(openRule), page.limit, (r) => r.name);
  }

  /** Every rule (the event router matches each event against them). */
  async allRules(): Promise<NotificationRule[]> {
    const rows: RuleRow[] = await this.ds.query(
      `SELECT name, spec, created_at FROM notification_rules ORDER BY name`,
    );
    return rows.map(openRule);
  }

  async deleteRule(name: string): Promise<void> {
    const [, affected] = await this.ds.query<[unknown, number]>(
      `DELETE FROM notification_rules WHERE name = $1`,
      [name],
    );
    if (!affected) throw new NotFoundError(`notification rule "${name}" not found`);
  }

  /**
   * Writes one outbox row per target that exists (once per event and target: an event seen
   * again, on this replica or another, adds nothing). Returns how many rows it added.
   */
  async enqueue(event: NotificationEvent, targets: readonly string[]): Promise<number> {
    if (targets.length === 0) return 0;
    const rows = await queryReturning<{ id: string }>(
      this.ds,
      `INSERT INTO notification_outbox (event_id, target, event)
         SELECT $1, t.name, $3::jsonb FROM notification_targets t WHERE t.name = ANY($2::text[])
       ON CONFLICT (event_id, target) DO NOTHING
       RETURNING id`,
      [event.id, [...targets], JSON.stringify(event)],
    );
    return rows.length;
  }

  /**
   * Claims up to `limit` due deliveries for `leaseMs`: each counts one more attempt and is not
   * due again before the lease ends, so a replica that dies mid-delivery leaves it to another.
   * Rows another replica is claiming are skipped, not waited for.
   */
  async claimDue(limit: number, leaseMs: number): Promise<NotificationDelivery[]> {
    const rows = await queryReturning<DeliveryRow>(
      this.ds,
      `UPDATE notification_outbox o
          SET attempts = o.attempts + 1,
              next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE o.id IN (SELECT id FROM notification_outbox
                        WHERE state = 'Pending' AND next_attempt_at <= now()
                        ORDER BY next_attempt_at, id
                        LIMIT $1
                        FOR UPDATE SKIP LOCKED)
      RETURNING o.*`,
      [limit, leaseMs],
    );
    return rows.map(openDelivery).sort((a, b) => Number(a.id) - Number(b.id));
  }

  async markDelivered(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE notification_outbox SET state = 'Delivered', delivered_at = now(), last_error = NULL
        WHERE id = $1`,
      [id],
    );
  }

  /**
   * Marks a claimed commit-status delivery Superseded, and returns true, when a commit status
   * already delivered to its target makes it stale (see `supersededBy`); false when it is still
   * to be sent.
   */
  async supersedeIfStale(d: NotificationDelivery): Promise<boolean> {
    if (d.event.commit === undefined) return false;
    const rows: { id: string; event: unknown }[] = await this.ds.query(
      `SELECT id, event FROM notification_outbox
        WHERE target = $1 AND state = 'Delivered' AND id <> $2 AND event->>'commit' = $3`,
      [d.target, d.id, d.event.commit],
    );
    const newer = supersededBy(
      d,
      rows.map((r) => ({ id: String(r.id), event: NotificationEventSchema.parse(r.event) })),
    );
    if (newer === null) return false;
    // next_attempt_at records when it was superseded (pruned like a delivered row).
    await this.ds.query(
      `UPDATE notification_outbox SET state = 'Superseded', last_error = NULL, next_attempt_at = now()
        WHERE id = $1 AND state = 'Pending'`,
      [d.id],
    );
    return true;
  }

  /** Records a failed attempt: due again in `retryInMs`, or dead-lettered when null. */
  async markFailed(id: string, error: string, retryInMs: number | null): Promise<void> {
    await this.ds.query(
      `UPDATE notification_outbox
          SET last_error = $2,
              state = CASE WHEN $3::double precision IS NULL THEN 'Dead' ELSE 'Pending' END,
              next_attempt_at = now() + make_interval(secs => coalesce($3::double precision, 0) / 1000)
        WHERE id = $1`,
      [id, error.slice(0, 2000), retryInMs],
    );
  }

  /** Puts a claimed delivery back without counting the attempt (a rate limit held it). */
  async defer(id: string, delayMs: number): Promise<void> {
    await this.ds.query(
      `UPDATE notification_outbox
          SET attempts = greatest(attempts - 1, 0),
              next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE id = $1`,
      [id, delayMs],
    );
  }

  /** Sends a dead-lettered delivery again (its attempts start over). */
  async retryDead(id: string): Promise<NotificationDelivery> {
    const rows = await queryReturning<DeliveryRow>(
      this.ds,
      `UPDATE notification_outbox SET state = 'Pending', attempts = 0, next_attempt_at = now()
        WHERE id = $1 AND state = 'Dead' RETURNING *`,
      [id],
    );
    const row = rows[0];
    if (row === undefined) throw new NotFoundError(`no dead-lettered delivery ${id}`);
    return openDelivery(row);
  }

  /** Deliveries, newest first, filtered by state and/or target. */
  async listDeliveries(
    filter: { state?: DeliveryState; target?: string },
    page: PageRequest,
  ): Promise<Page<NotificationDelivery>> {
    const rows: DeliveryRow[] = await this.ds.query(
      `SELECT * FROM notification_outbox
        WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR target = $2)
          AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [filter.state ?? null, filter.target ?? null, page.after ?? null, page.limit + 1],
    );
    return toPage(rows.map(openDelivery), page.limit, (d) => d.id);
  }

  /** Forgets deliveries delivered (or superseded) more than `olderThanMs` ago; returns how many. */
  async pruneDelivered(olderThanMs: number): Promise<number> {
    const [, affected] = await this.ds.query<[unknown, number]>(
      `DELETE FROM notification_outbox
        WHERE (state = 'Delivered'
               AND delivered_at < now() - make_interval(secs => $1::double precision / 1000))
           OR (state = 'Superseded'
               AND next_attempt_at < now() - make_interval(secs => $1::double precision / 1000))`,
      [olderThanMs],
    );
    return affected;
  }

  /** Deliveries not yet delivered nor dead (the outbox depth). */
  async pendingCount(): Promise<number> {
    const rows: { n: string }[] = await this.ds.query(
      `SELECT count(*) AS n FROM notification_outbox WHERE state = 'Pending'`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  private open(e: NotificationTargetEntity): NotificationTarget {
    const reveal = (field: string, value: string | null) =>
      value === null ? null : new Secret(this.box.decrypt(value, targetContext(e.name, field)));
    return {
      name: e.name,
      type: e.type as TargetType,
      url: reveal('url', e.url),
      hmacKey: reveal('hmac_key', e.hmacKey),
      token: reveal('token', e.token),
      allowHttp: e.allowHttp,
      rateLimitPerMinute: e.rateLimitPerMinute,
      timeoutMs: e.timeoutMs,
      context: e.context,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
    };
  }
}

interface RuleRow {
  name: string;
  spec: unknown;
  created_at: Date;
}

function openRule(row: RuleRow): NotificationRule {
  return {
    name: row.name,
    ...NotificationRuleSpecSchema.parse(row.spec),
    createdAt: new Date(row.created_at),
  };
}

interface DeliveryRow {
  id: string;
  event_id: string;
  target: string;
  event: unknown;
  state: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

function openDelivery(row: DeliveryRow): NotificationDelivery {
  return {
    id: String(row.id),
    eventId: row.event_id,
    target: row.target,
    event: NotificationEventSchema.parse(row.event),
    state: row.state as DeliveryState,
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at),
    lastError: row.last_error,
    createdAt: new Date(row.created_at),
    deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
  };
}
