import type { DataSource } from 'typeorm';

/** A count by one or two labels. */
export interface CountRow {
  key: string;
  state: string;
  count: number;
}

/**
 * Aggregates the hub's Prometheus gauges are computed from at scrape time: one `GROUP BY`
 * each, so a scrape costs a few index scans, never a walk over the fleet in memory.
 */
export class FleetMetricsRepository {
  constructor(private readonly ds: DataSource) {}

  /** Clusters by connection state. */
  async clustersByState(): Promise<CountRow[]> {
    return this.counts(
      `SELECT '' AS key, state, count(*)::int AS count FROM clusters GROUP BY state`,
    );
  }

  /** Deployments by bundle and last reported state. */
  async deploymentsByBundleAndState(): Promise<CountRow[]> {
    return this.counts(
      `SELECT bundle AS key, state, count(*)::int AS count FROM deployments GROUP BY bundle, state`,
    );
  }

  /** Rollouts by state. */
  async rolloutsByState(): Promise<CountRow[]> {
    return this.counts(
      `SELECT '' AS key, state, count(*)::int AS count FROM rollouts GROUP BY state`,
    );
  }

  /** GitRepos whose last sync failed (`error`) or not (`ok`). */
  async gitReposByHealth(): Promise<CountRow[]> {
    return this.counts(
      `SELECT '' AS key, CASE WHEN error IS NULL THEN 'ok' ELSE 'error' END AS state, count(*)::int AS count
         FROM gitrepos GROUP BY 2`,
    );
  }

  private async counts(sql: string): Promise<CountRow[]> {
    const rows: { key: string; state: string; count: number }[] = await this.ds.query(sql);
    return rows.map((r) => ({ key: r.key, state: r.state, count: Number(r.count) }));
  }
}
