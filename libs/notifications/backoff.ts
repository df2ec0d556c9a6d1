/** How retries of a delivery are spaced. */
export interface BackoffPolicy {
  /** Delay before the first retry (before jitter). */
  baseMs: number;
  /** The longest delay. */
  maxMs: number;
  /** Attempts before a delivery is dead-lettered. */
  maxAttempts: number;
}

/** Defaults: 5 s doubling up to 10 min, dead letter after 12 attempts (about an hour). */
export const defaultBackoff: BackoffPolicy = { baseMs: 5_000, maxMs: 600_000, maxAttempts: 12 };

/**
 * The delay after the `attempt`-th failed attempt (1-based): exponential, capped, with "equal
 * jitter" (half fixed, half random) so that retries of many deliveries spread out but still grow.
 * `random` returns a number in [0, 1).
 */
export function retryDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** What happens after a failed attempt: retry at a delay, or dead-letter. */
export function afterFailure(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): { retryInMs: number } | { deadLetter: true } {
  if (attempt >= policy.maxAttempts) return { deadLetter: true };
  return { retryInMs: retryDelayMs(attempt, policy, random) };
}
