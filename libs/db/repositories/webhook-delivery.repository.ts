import type { DataSource } from 'typeorm';

/** How long a delivery is remembered: a replay within this time is ignored. */
export const WEBHOOK_DELIVERY_TTL_MS = 30 * 24 * 3_600_000;

/**
 * Push webhook deliveries the hub acted on. `claim` is atomic in PostgreSQL, so of several
 * replicas receiving the same delivery (or a replay of it) exactly one acts on it.
 */
export class WebhookDeliveryRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records a delivery under all of its `keys` and says whether it is new: false when any key
   * was recorded before and has not expired (a replay). Expired records are dropped on the way.
   */
  async claim(keys: readonly string[], ttlMs = WEBHOOK_DELIVERY_TTL_MS): Promise<boolean> {
    if (keys.length === 0) return true;
    const unique = [...new Set(keys)].sort(); // one order for every replica: no deadlocks
    return this.ds.transaction(async (m) => {
      await m.query(`DELETE FROM webhook_deliveries WHERE expires_at < now()`);
      const inserted: unknown[] = await m.query(
        `INSERT INTO webhook_deliveries (key, expires_at)
           SELECT k, now() + make_interval(secs => $2::double precision / 1000)
             FROM unnest($1::text[]) AS k
         ON CONFLICT (key) DO NOTHING
         RETURNING key`,
        [unique, ttlMs],
      );
      // Any key recorded before (or by a concurrent claim, which this one waited for): a replay.
      return inserted.length === unique.length;
    });
  }
}
