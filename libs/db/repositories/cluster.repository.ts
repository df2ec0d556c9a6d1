import type { DataSource, EntityManager } from 'typeorm';
import { ClusterState } from '../../contracts/states.js';
import { type Requirement, selectorToSql } from '../../selectors/index.js';
import { ClusterEntity } from '../entities/cluster.entity.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';
import { queryReturning } from '../returning.js';

/** One heartbeat, as the status service batches them. */
export interface HeartbeatRecord {
  name: string;
  seenAt: Date;
  leaseExpiresAt: Date;
  agentVersion: string;
  kubernetesVersion: string;
}

/** A cluster whose connection state changed. */
export interface StateTransition {
  cluster: ClusterEntity;
  previousState: string;
}

/** Clusters in PostgreSQL: registration, labels, selection by label selector, liveness. */
export class ClusterRepository {
  constructor(private readonly ds: DataSource) {}

  private get repo() {
    return this.ds.getRepository(ClusterEntity);
  }

  /** Inserts a cluster; ConflictError when the name is taken. */
  async create(
    name: string,
    labels: Record<string, string>,
    manager = this.ds.manager,
  ): Promise<ClusterEntity> {
    try {
      const result = await manager
        .createQueryBuilder()
        .insert()
        .into(ClusterEntity)
        .values({ name, labels, state: ClusterState.Pending })
        .returning('*')
        .execute();
      return fromRow((result.raw as Record<string, unknown>[])[0]!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`cluster "${name}" already exists`);
      throw err;
    }
  }

  /** Every cluster's name and labels, by name: what targeting reads. */
  async refs(): Promise<{ name: string; labels: Record<string, string> }[]> {
    return this.ds.query('SELECT name, labels FROM clusters ORDER BY name');
  }

  /** The labels of the named clusters that exist, by name. */
  async labelsOf(names: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const rows = await this.ds.query<{ name: string; labels: Record<string, string> }[]>(
      'SELECT name, labels FROM clusters WHERE name = ANY($1::text[])',
      [names],
    );
    return new Map(rows.map((c) => [c.name, c.labels]));
  }

  /** The named cluster, or NotFoundError. */
  async get(name: string): Promise<ClusterEntity> {
    const found = await this.repo.findOneBy({ name });
    if (!found) throw new NotFoundError(`cluster "${name}" not found`);
    return found;
  }

  /** Clusters matching the selector, ordered by name, one page at a time. */
  async list(selector: Requirement[], page: PageRequest): Promise<Page<ClusterEntity>> {
    const where = selectorToSql(selector, 'c.labels', 1);
    const params = [...where.params];
    let sql = `SELECT c.* FROM clusters c WHERE (${where.sql})`;
    if (page.after !== undefined) {
      params.push(page.after);
      sql += ` AND c.name > $${params.length}`;
    }
    params.push(page.limit + 1);
    sql += ` ORDER BY c.name LIMIT $${params.length}`;
    const rows: Record<string, unknown>[] = await this.ds.query(sql, params);
    return toPage(rows.map(fromRow), page.limit, (c) => c.name);
  }

  /** Names of every cluster matching the selector (for group membership and targeting). */
  async names(selector: Requirement[]): Promise<string[]> {
    const where = selectorToSql(selector, 'labels', 1);
    const rows: { name: string }[] = await this.ds.query(
      `SELECT name FROM clusters WHERE (${where.sql}) ORDER BY name`,
      where.params,
    );
    return rows.map((r) => r.name);
  }

  /** Counts by connection state of the clusters matching the selector. */
  async countByState(selector: Requirement[] = []): Promise<Record<ClusterState, number>> {
    const where = selectorToSql(selector, 'labels', 1);
    const rows: { state: string; n: string }[] = await this.ds.query(
      `SELECT state, count(*) AS n FROM clusters WHERE (${where.sql}) GROUP BY state`,
      where.params,
    );
    const counts: Record<ClusterState, number> = { Pending: 0, Online: 0, Offline: 0 };
    for (const row of rows) {
      if (row.state in counts) counts[row.state as ClusterState] = Number(row.n);
    }
    return counts;
  }

  /** Replaces a cluster's labels. */
  async replaceLabels(name: string, labels: Record<string, string>): Promise<ClusterEntity> {
    const result = await this.repo.update({ name }, { labels });
    if (!result.affected) throw new NotFoundError(`cluster "${name}" not found`);
    return this.get(name);
  }

  /** Deletes a cluster (its agent tokens go with it); returns what was deleted. */
  async delete(name: string, manager = this.ds.manager): Promise<ClusterEntity> {
    const existing = await manager.findOneBy(ClusterEntity, { name });
    if (!existing) throw new NotFoundError(`cluster "${name}" not found`);
    await manager.delete(ClusterEntity, { name });
    return existing;
  }

  /**
   * The named cluster, locked (FOR UPDATE) until `manager`'s transaction ends, or NotFoundError:
   * what the transaction reads about the cluster's agent tokens then stays true until it ends.
   */
  async lock(name: string, manager: EntityManager): Promise<ClusterEntity> {
    const found = await manager.findOne(ClusterEntity, {
      where: { name },
      lock: { mode: 'pessimistic_write' },
    });
    if (!found) throw new NotFoundError(`cluster "${name}" not found`);
    return found;
  }

  /**
   * Records a batch of heartbeats in one statement: every cluster becomes Online with its new
   * lease. Returns the clusters whose state changed (were Pending or Offline): only those rows
   * come back from PostgreSQL (a renewal, nearly every heartbeat, returns nothing to read).
   * Unknown cluster names (deleted clusters whose agents still run) are ignored.
   */
  async recordHeartbeats(batch: HeartbeatRecord[]): Promise<StateTransition[]> {
    if (batch.length === 0) return [];
    const n = batch.length;
    const names = new Array<string>(n);
    const seen = new Array<string>(n);
    const leases = new Array<string>(n);
    const agentVersions = new Array<string>(n);
    const kubernetesVersions = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const b = batch[i]!;
      names[i] = b.name;
      seen[i] = b.seenAt.toISOString();
      leases[i] = b.leaseExpiresAt.toISOString();
      agentVersions[i] = b.agentVersion;
      kubernetesVersions[i] = b.kubernetesVersion;
    }
    type Row = Record<string, unknown> & { previous_state: string };
    const rows = await this.ds.transaction(async (m): Promise<Row[]> => {
      await lockInNameOrder(m, names);
      return m.query(
        `WITH v AS (
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[])
           AS v(name, seen, lease, av, kv)
       ), old AS (
         SELECT c.name, c.state FROM clusters c JOIN v ON v.name = c.name
       ), changed AS (
         UPDATE clusters c
            SET state = 'Online', last_seen = v.seen, lease_expires_at = v.lease,
                agent_version = v.av, kubernetes_version = v.kv, updated_at = now()
           FROM v JOIN old ON old.name = v.name
          WHERE c.name = v.name AND (c.last_seen IS NULL OR c.last_seen <= v.seen)
        RETURNING c.*, old.state AS previous_state
       )
       SELECT * FROM changed WHERE previous_state <> 'Online'`,
        [names, seen, leases, agentVersions, kubernetesVersions],
      );
    });
    return rows.map((r) => ({ cluster: fromRow(r), previousState: r.previous_state }));
  }

  /**
   * Marks Offline every Online cluster whose lease expired at or before `now` (optionally only
   * the named ones). Conditional, so a replica holding a stale timer changes nothing.
   */
  async expireLeases(now: Date, names?: string[]): Promise<StateTransition[]> {
    const params: unknown[] = [now.toISOString()];
    let where = `state = 'Online' AND lease_expires_at <= $1`;
    if (names !== undefined) {
      params.push(names);
      where += ` AND name = ANY($2::text[])`;
    }
    const sql = `UPDATE clusters SET state = 'Offline', updated_at = now() WHERE ${where} RETURNING *`;
    const rows = await this.ds.transaction(async (m) => {
      const lapsed: { name: string }[] = await m.query(
        `SELECT name FROM clusters WHERE ${where} ORDER BY name FOR UPDATE`,
        params,
      );
      if (lapsed.length === 0) return [];
      return queryReturning<Record<string, unknown>>(m, sql, params);
    });
    return rows.map((r) => ({ cluster: fromRow(r), previousState: ClusterState.Online }));
  }

  /** Names of the Online clusters whose lease expired at or before `now`. */
  async lapsedLeases(now: Date): Promise<string[]> {
    const rows: { name: string }[] = await this.ds.query(
      `SELECT name FROM clusters WHERE state = 'Online' AND lease_expires_at <= $1`,
      [now.toISOString()],
    );
    return rows.map((r) => r.name);
  }

  /** Every Online cluster's lease expiry, for scheduling timers after a (re)start. */
  async onlineLeases(): Promise<{ name: string; leaseExpiresAt: Date }[]> {
    const rows: { name: string; lease_expires_at: Date }[] = await this.ds.query(
      `SELECT name, lease_expires_at FROM clusters WHERE state = 'Online' AND lease_expires_at IS NOT NULL`,
    );
    return rows.map((r) => ({ name: r.name, leaseExpiresAt: new Date(r.lease_expires_at) }));
  }
}

function fromRow(r: Record<string, unknown>): ClusterEntity {
  const c = new ClusterEntity();
  c.name = r.name as string;
  c.labels = r.labels as Record<string, string>;
  c.state = r.state as string;
  c.lastSeen = r.last_seen ? new Date(r.last_seen as string) : null;
  c.leaseExpiresAt = r.lease_expires_at ? new Date(r.lease_expires_at as string) : null;
  c.agentVersion = (r.agent_version as string | null) ?? null;
  c.kubernetesVersion = (r.kubernetes_version as string | null) ?? null;
  c.createdAt = new Date(r.created_at as string);
  c.updatedAt = new Date(r.updated_at as string);
  return c;
}

/**
 * Locks the named clusters' rows in one order (PostgreSQL's, by name) until `m`'s transaction
 * ends. A heartbeat batch and a lease expiry touch many rows at once; taking their locks in the
 * same order makes one wait for the other instead of deadlocking (seen at 10,000 clusters).
 */
async function lockInNameOrder(m: EntityManager, names: readonly string[]): Promise<void> {
  await m.query('SELECT 1 FROM clusters WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE', [
    names,
  ]);
}
