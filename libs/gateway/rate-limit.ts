/** Capacity and refill of one token bucket. */
export interface BucketRate {
  /** Requests allowed at once after a quiet time. */
  burst: number;
  /** Requests allowed per second after the burst. */
  perSecond: number;
}

/**
 * Token buckets by key (a cluster, a cluster and request kind): `take` says whether one more
 * request fits the key's rate at `now` (milliseconds), and counts it when it does. Buckets that
 * are full again are forgotten, so memory follows the keys active in the last moments.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: BucketRate) {
    if (!(rate.burst >= 1) || !(rate.perSecond > 0)) {
      throw new Error('a token bucket needs a burst of at least 1 and a positive rate');
    }
  }

  take(key: string, now: number): boolean {
    const bucket = this.buckets.get(key);
    const tokens =
      bucket === undefined
        ? this.rate.burst
        : Math.min(
            this.rate.burst,
            bucket.tokens + (Math.max(0, now - bucket.at) * this.rate.perSecond) / 1000,
          );
    // A clock that went backwards must not refill later: time counts from the latest moment seen.
    const at = Math.max(now, bucket?.at ?? now);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at });
      return false;
    }
    this.buckets.set(key, { tokens: tokens - 1, at });
    if (this.buckets.size > 10_000) this.forgetFull(now);
    return true;
  }

  /** Keys tracked now (tests). */
  get size(): number {
    return this.buckets.size;
  }

  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.rate.perSecond) / 1000 >= this.rate.burst) {
        this.buckets.delete(key);
      }
    }
  }
}

/**
 * Lets something happen at most once per key and period (a log line per cluster per minute):
 * `allow` is true for the first call of a key, then again once `periodMs` has passed, and counts
 * the calls it suppressed meanwhile.
 */
export class OncePer {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly periodMs: number) {}

  /** Whether to act now, and how many calls were suppressed since the last time it did. */
  allow(key: string, now: number): { allowed: boolean; suppressed: number } {
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.periodMs) {
      entry.suppressed++;
      return { allowed: false, suppressed: entry.suppressed };
    }
    if (this.last.size > 10_000) {
      for (const [k, e] of this.last) if (now - e.at >= this.periodMs) this.last.delete(k);
    }
    this.last.set(key, { at: now, suppressed: 0 });
    return { allowed: true, suppressed: entry?.suppressed ?? 0 };
  }
}
