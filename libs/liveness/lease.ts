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

interface Lease {
  name: string;
  at: number;
  /** Order of (re)scheduling: leases due at the same moment are reported in this order. */
  seq: number;
  /** Position in the heap. */
  index: number;
}

/**
 * Every lease's expiry, firing at exactly its time (not at some later poll), with one timer for
 * all of them: leases are kept in a binary heap by expiry, and the one timer is armed for the
 * earliest. Renewing a lease moves it in the heap (O(log n), no timer call): a timer armed for a
 * lease since renewed fires, finds nothing due, and is armed for the new earliest. With every
 * cluster heartbeating, that is about once per two heartbeat intervals, however many clusters.
 * Leases due at the same moment are reported together, so the caller can expire them in one
 * statement.
 */
export class LeaseTimers {
  private readonly leases = new Map<string, Lease>();
  private readonly heap: Lease[] = [];
  private seq = 0;
  private handle: unknown;
  /** When the armed timer fires (epoch ms); undefined: none armed. */
  private armedAt: number | undefined;

  constructor(
    private readonly onExpired: (names: string[]) => void,
    private readonly clock: TimerClock = systemClock,
  ) {}

  /** (Re)arms the lease of `name` to expire at `at`. */
  schedule(name: string, at: Date): void {
    this.scheduleAt(name, at.getTime());
  }

  /** (Re)arms the lease of `name` to expire at `time` (epoch ms). */
  scheduleAt(name: string, time: number): void {
    const existing = this.leases.get(name);
    if (existing) {
      if (existing.at === time) return;
      const earlier = time < existing.at;
      existing.at = time;
      existing.seq = this.seq++;
      if (earlier) this.up(existing.index);
      else this.down(existing.index);
    } else {
      const lease = { name, at: time, seq: this.seq++, index: this.heap.length };
      this.leases.set(name, lease);
      this.heap.push(lease);
      this.up(lease.index);
    }
    this.arm();
  }

  /** Forgets the lease of `name` (e.g. the cluster was deleted). */
  cancel(name: string): void {
    const lease = this.leases.get(name);
    if (!lease) return;
    this.leases.delete(name);
    this.removeAt(lease.index);
  }

  /** Number of armed leases. */
  get size(): number {
    return this.leases.size;
  }

  /** Cancels every lease and the timer. */
  clear(): void {
    this.leases.clear();
    this.heap.length = 0;
    if (this.armedAt !== undefined) this.clock.clearTimeout(this.handle);
    this.armedAt = undefined;
  }

  /** Arms the timer for the earliest lease, unless one is armed at or before it already. */
  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return;
    if (this.armedAt !== undefined) {
      if (this.armedAt <= first.at) return;
      this.clock.clearTimeout(this.handle);
    }
    const delay = Math.max(0, first.at - this.clock.now());
    this.armedAt = first.at;
    this.handle = this.clock.setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.armedAt = undefined;
    // Node's timers may fire a millisecond before the wall clock reaches a lease's time; the
    // caller's check (`lease_expires_at <= now`) would then find nothing due, and nothing would
    // look again until a sweep. Such a lease waits out the rest instead.
    const now = this.clock.now();
    const due: Lease[] = [];
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const lease = this.heap[0]!;
      this.leases.delete(lease.name);
      this.removeAt(0);
      due.push(lease);
    }
    this.arm();
    if (due.length === 0) return;
    due.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.onExpired(due.map((l) => l.name));
  }

  private less(a: Lease, b: Lease): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private place(lease: Lease, index: number): void {
    this.heap[index] = lease;
    lease.index = index;
  }

  private up(index: number): void {
    const lease = this.heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const p = this.heap[parent]!;
      if (!this.less(lease, p)) break;
      this.place(p, index);
      index = parent;
    }
    this.place(lease, index);
  }

  private down(index: number): void {
    const lease = this.heap[index]!;
    const n = this.heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(this.heap[right]!, this.heap[left]!) ? right : left;
      const c = this.heap[child]!;
      if (!this.less(c, lease)) break;
      this.place(c, index);
      index = child;
    }
    this.place(lease, index);
  }

  private removeAt(index: number): void {
    const last = this.heap.pop()!;
    if (index === this.heap.length) return;
    this.place(last, index);
    this.up(index);
    this.down(last.index);
  }
}
