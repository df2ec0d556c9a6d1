import type { DataSource } from 'typeorm';

/**
 * Per-cluster sequence numbers of signed hub → agent payloads, from PostgreSQL: strictly
 * increasing for each cluster whichever hub replica asks, and across restarts.
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
    const rows: { cluster: string; seq: string }[] = await this.ds.query(
      `INSERT INTO agent_sequences AS s (cluster, seq)
         SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (cluster) DO UPDATE SET seq = s.seq + EXCLUDED.seq
       RETURNING s.cluster, s.seq`,
      [clusters, clusters.map((c) => counts.get(c)!)],
    );
    for (const row of rows) result.set(row.cluster, Number(row.seq));
    return result;
  }
}
