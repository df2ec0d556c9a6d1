/**
 * Schedules the flushes of a write-behind buffer: a flush at most `delayMs` after the first
 * request, at once when the buffer is full, one flush at a time (never overlapping), and a
 * retry after a failure. The buffer itself stays with the caller.
 */
export class FlushScheduler {
  private timer: NodeJS.Timeout | undefined;
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
    if (this.timer && delay > 0) return; // one is already coming soon enough
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.flush()).catch(() => undefined);
    }, delay);
  }
}
