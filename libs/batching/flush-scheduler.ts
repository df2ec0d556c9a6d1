/**
 * Schedules the flushes of a write-behind buffer: a flush at most `delayMs` after the first
 * request, at once when the buffer is full, one flush at a time (never overlapping), and a
 * retry after a failure. The buffer itself stays with the caller.
 *
 * At most one flush waits behind the one in progress: it takes the whole buffer when it
 * starts (or as much as one write should hold, asking at once for the next), so requests made
 * meanwhile (a burst filling the buffer again and again) add no further flushes that would each
 * write a sliver.
 */
export class FlushScheduler {
  private timer: NodeJS.Timeout | undefined;
  /** When the scheduled timer fires (epoch ms). */
  private timerAt = 0;
  /** A flush is queued behind the one in progress and has not started yet. */
  private queued = false;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly delayMs: number,
  ) {}

  /** Asks for a flush within the delay; `now` (a full buffer) asks for one at once. */
  request(now = false): void {
    this.schedule(now ? 0 : this.delayMs);
  }

  /** Asks for a flush after `ms` (after a failed write). */
  retry(ms: number): void {
    this.schedule(ms);
  }

  /** Resolves once the flush in progress (if any) is done. */
  idle(): Promise<void> {
    return this.running;
  }

  /** Cancels what is scheduled; the flush in progress finishes. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    const at = Date.now() + delay;
    if (this.timer) {
      if (this.timerAt <= at) return; // one is already coming soon enough
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.queued) return; // the flush waiting to start will take everything
      this.queued = true;
      this.running = this.running
        .then(() => {
          this.queued = false;
          return this.flush();
        })
        .catch(() => undefined);
    }, delay);
  }
}
