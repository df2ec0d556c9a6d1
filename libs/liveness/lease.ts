/** How many heartbeat intervals a lease lasts: two heartbeats may be lost before Offline. */
export const LEASE_INTERVALS = 3;

/** When the lease started by a heartbeat seen at `seenAt` expires. */
export function leaseExpiry(seenAt: Date, intervalMs: number, intervals = LEASE_INTERVALS): Date {
  return new Date(seenAt.getTime() + intervalMs * intervals);
}

/** The clock and timers a LeaseTimers uses; tests inject a fake. */
export interface TimerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: TimerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * One timer per lease, firing at exactly its expiry time (not at some later poll). Renewing a
 * lease replaces its timer. Leases due at the same moment are reported together, so the caller
 * can expire them in one statement.
 */
export class LeaseTimers {
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private due: string[] = [];
  private flushScheduled = false;

  constructor(
    private readonly onExpired: (names: string[]) => void,
    private readonly clock: TimerClock = systemClock,
  ) {}

  /** (Re)arms the lease of `name` to expire at `at`. */
  schedule(name: string, at: Date): void {
    const existing = this.timers.get(name);
    if (existing) {
      if (existing.at === at.getTime()) return;
      this.clock.clearTimeout(existing.handle);
    }
    this.arm(name, at.getTime());
  }

  private arm(name: string, at: number): void {
    const delay = Math.max(0, at - this.clock.now());
    const handle = this.clock.setTimeout(() => this.fire(name, at), delay);
    this.timers.set(name, { at, handle });
  }

  /** Forgets the lease of `name` (e.g. the cluster was deleted). */
  cancel(name: string): void {
    const existing = this.timers.get(name);
    if (existing) this.clock.clearTimeout(existing.handle);
    this.timers.delete(name);
  }

  /** Number of armed leases. */
  get size(): number {
    return this.timers.size;
  }

  /** Cancels every timer. */
  clear(): void {
    for (const { handle } of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
    this.due = [];
  }

  private fire(name: string, at: number): void {
    // Node's timers may fire a millisecond before the wall clock reaches `at`; the caller's
    // check (`lease_expires_at <= now`) would then find nothing due, and nothing would look
    // again until a sweep. Wait out the rest instead.
    if (this.clock.now() < at) {
      this.arm(name, at);
      return;
    }
    this.timers.delete(name);
    this.due.push(name);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const names = this.due;
      this.due = [];
      if (names.length > 0) this.onExpired(names);
    });
  }
}
