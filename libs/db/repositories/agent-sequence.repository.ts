import type { DataSource } from 'typeorm';

/** Milliseconds since the epoch by PostgreSQL's clock, fixed for the statement. */
const NOW_MS = `(extract(epoch from statement_timestamp()) * 1000)::bigint`;

/**
 * Per-cluster sequence numbers of signed hub → agent payloads, from PostgreSQL: strictly
 * increasing for each cluster whichever hub replica asks, and across restarts. A number is never
 * below the database clock in milliseconds, so that a database restored from a backup (which
 * forgot the newest numbers) still hands out numbers above those agents saw.
 */
export class AgentSequenceRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Takes `count` new numbers for each cluster, in one statement, and returns the newest one
   * taken for each: a cluster's numbers are `newest - count + 1` to `newest`.
   */
  async take(counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    if (counts.size === 0) return result;
    const clusters = [...counts.keys()].sort();
    // EXCLUDED.seq is now + count: the newest number is the larger of (previous + count) and it.
    const rows: { cluster: string; seq: string }[] = await this.ds.query(
      `INSERT INTO agent_sequences AS s (cluster, seq)
         SELECT u.cluster, ${NOW_MS} + u.count
           FROM unnest($1::text[], $2::bigint[]) AS u(cluster, count)
       ON CONFLICT (cluster) DO UPDATE
         SET seq = GREATEST(s.seq + EXCLUDED.seq - ${NOW_MS}, EXCLUDED.seq)
       RETURNING s.cluster, s.seq`,
      [clusters, clusters.map((c) => counts.get(c)!)],
    );
    for (const row of rows) result.set(row.cluster, Number(row.seq));
    return result;
  }
}
