/**
 * A value computed at most once per `maxAgeMs`, shared by every caller: the fleet's deployment
 * counts (one GROUP BY over every deployment) feed `GET /api/v1/status`, every GitRepo and
 * bundle summary and the gRPC watch, so under load they cost one query per second however many
 * callers ask, and callers never queue behind the query once a first result exists.
 *
 * - The first call waits for the first result (so does every call while no result exists yet).
 * - Later calls get the last result at once; when it is older than `maxAgeMs`, a refresh starts
 *   in the background (at most one in flight), and callers keep getting the last result until it
 *   lands.
 * - A failed refresh keeps the last result (callers without one get the error), and the next
 *   call may try again.
 *
 * Framework-free; the clock is injected so tests move time by hand.
 */
export interface Cached<T> {
  value: T;
  /** When the computation that produced `value` started (epoch ms): the counts are this fresh. */
  computedAt: number;
}

export interface SummaryCacheOptions {
  /** The longest a result is served before a refresh is started (ms). */
  maxAgeMs: number;
  /** Epoch ms now. */
  now: () => number;
  /** Resolves after `ms` (for `fresh`, which waits out `maxAgeMs` between computations). */
  sleep?: (ms: number) => Promise<void>;
}

export class SummaryCache<T> {
  private last: Cached<T> | undefined;
  private inFlight: Promise<Cached<T>> | undefined;
  private refreshes = 0;
  private inFlightStartedAt = Number.NEGATIVE_INFINITY;
  private lastStartedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly options: SummaryCacheOptions,
  ) {}

  /** The last result, refreshed as described above. */
  async get(): Promise<Cached<T>> {
    const last = this.last;
    if (last === undefined) return this.refresh();
    if (this.options.now() - last.computedAt >= this.options.maxAgeMs) {
      // In the background: its failure is kept for nobody (the last result stays).
      this.refresh().catch(() => undefined);
    }
    return last;
  }

  /**
   * A result computed no earlier than `since` (epoch ms): what a watcher needs to show the counts
   * after a change it saw at `since`. Still at most one computation per `maxAgeMs`: it waits for
   * the one in flight, or until the next may start.
   */
  async fresh(since: number): Promise<Cached<T>> {
    for (;;) {
      if (this.last !== undefined && this.last.computedAt >= since) return this.last;
      if (this.inFlight !== undefined) {
        if (this.inFlightStartedAt >= since) return this.inFlight;
        await this.inFlight.catch(() => undefined);
        continue;
      }
      const wait = this.lastStartedAt + this.options.maxAgeMs - this.options.now();
      if (wait > 0 && this.options.sleep !== undefined) {
        await this.options.sleep(wait);
        continue;
      }
      return this.refresh();
    }
  }

  /**
   * A result computed elsewhere at `computedAt` (another cache's computation that read the same
   * thing): kept when it is newer than the last, so the next callers get it and no computation of
   * this cache's own is needed while it is fresh.
   */
  offer(value: T, computedAt: number): void {
    if (this.last === undefined || this.last.computedAt < computedAt) {
      this.last = { value, computedAt };
    }
  }

  /** How many computations have started (for tests and metrics). */
  get computations(): number {
    return this.refreshes;
  }

  /** Starts a computation unless one is in flight; resolves with its result. */
  private refresh(): Promise<Cached<T>> {
    if (this.inFlight !== undefined) return this.inFlight;
    const startedAt = this.options.now();
    this.refreshes++;
    this.inFlightStartedAt = startedAt;
    this.lastStartedAt = startedAt;
    const run = (async () => {
      try {
        const value = await this.compute();
        // A result never replaces a newer one (cannot happen with one in flight, but is cheap).
        if (this.last === undefined || this.last.computedAt <= startedAt) {
          this.last = { value, computedAt: startedAt };
        }
        return this.last;
      } finally {
        this.inFlight = undefined;
      }
    })();
    this.inFlight = run;
    return run;
  }
}
