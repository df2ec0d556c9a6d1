/** What a heartbeat would write: the lease it grants and the versions it reports. */
export interface Renewal {
  name: string;
  /** Lease expiry (epoch ms) this heartbeat grants. */
  leaseMs: number;
  agentVersion: string;
  kubernetesVersion: string;
}

/**
 * Which heartbeats must be written to PostgreSQL now and which may wait. A heartbeat that only
 * renews a lease this replica stored (Online, same versions) and that still lasts more than
 * `marginMs` is held back; a newer heartbeat of the same cluster replaces it, and the newest is
 * taken for writing once the stored lease has `marginMs` left. So while agents heartbeat,
 * PostgreSQL holds every cluster's lease at least `marginMs` (less the flush delay) ahead —
 * what any replica judges by — and an agent's last heartbeat is always written before the lease
 * it renewed ends: the cluster goes Offline exactly three intervals after its last heartbeat.
 * With a margin of one interval, about every other heartbeat is written.
 *
 * `T` is the caller's record (whatever it writes), carried through untouched.
 */
export class LeaseRenewals<T extends Renewal> {
  /** Per cluster, what this replica last stored: the lease and the versions. */
  private readonly stored = new Map<string, Renewal>();
  private readonly held = new Map<string, T>();
  /** When a stored lease reaches its margin, in the order they were stored (so in time order). */
  private readonly due: { name: string; at: number }[] = [];
  private dueHead = 0;

  constructor(private readonly marginMs: number) {}

  /** A heartbeat received at `now`: true to write it now, false when it is held back. */
  offer(record: T, now: number): boolean {
    const stored = this.stored.get(record.name);
    if (
      stored !== undefined &&
      stored.agentVersion === record.agentVersion &&
      stored.kubernetesVersion === record.kubernetesVersion &&
      stored.leaseMs - now > this.marginMs &&
      record.leaseMs >= stored.leaseMs
    ) {
      this.held.set(record.name, record);
      return false;
    }
    this.held.delete(record.name);
    return true;
  }

  /** Records were written: the clusters are Online with these leases and versions. */
  wrote(records: readonly Renewal[]): void {
    for (const r of records) {
      const previous = this.stored.get(r.name);
      if (previous !== undefined && previous.leaseMs > r.leaseMs) continue;
      this.stored.set(r.name, {
        name: r.name,
        leaseMs: r.leaseMs,
        agentVersion: r.agentVersion,
        kubernetesVersion: r.kubernetesVersion,
      });
      this.due.push({ name: r.name, at: r.leaseMs - this.marginMs });
    }
  }

  /** The held heartbeats whose stored lease has reached its margin by `now`: write them. */
  takeDue(now: number): T[] {
    const out: T[] = [];
    while (this.dueHead < this.due.length && this.due[this.dueHead]!.at <= now) {
      const { name, at } = this.due[this.dueHead++]!;
      const stored = this.stored.get(name);
      // A later store of the same cluster has its own entry further on.
      if (stored === undefined || stored.leaseMs - this.marginMs !== at) continue;
      const held = this.held.get(name);
      if (held !== undefined) {
        this.held.delete(name);
        out.push(held);
      }
    }
    if (this.dueHead > 1024 && this.dueHead * 2 > this.due.length) {
      this.due.splice(0, this.dueHead);
      this.dueHead = 0;
    }
    return out;
  }

  /**
   * Forgets what was stored for these clusters, and drops their held heartbeats (they went
   * Offline, were deleted or registered again): their next heartbeat is written at once. A held
   * one is not written: it may renew a lease that has ended, and would bring an Offline cluster
   * back Online without a heartbeat since.
   */
  forget(names: Iterable<string>): void {
    for (const name of names) {
      this.stored.delete(name);
      this.held.delete(name);
    }
  }

  /** Every held heartbeat, due or not (at shutdown: they are written before the replica goes). */
  takeAll(): T[] {
    const out = [...this.held.values()];
    this.held.clear();
    return out;
  }

  /** Entries in the due queue (for tests: it is compacted as it is read). */
  get pendingDue(): number {
    return this.due.length;
  }

  /** Heartbeats held back now. */
  get heldCount(): number {
    return this.held.size;
  }
}
