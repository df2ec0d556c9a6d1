import { type TimerClock, systemClock } from './lease.js';

/**
 * The longest single wait: Node fires a `setTimeout` longer than 2^31-1 ms at once, so a wake
 * further away is reached in steps.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One wake-up per key at the time its owner asked for (Kubernetes controllers' `RequeueAfter`):
 * the rollout controller asks to be called again for a bundle at the planner's `wakeAt`, and
 * nothing runs in between unless an event does. Asking again replaces the key's wake-up (the
 * latest plan knows best); a timer that fires early, or a wake-up further away than one timer
 * can wait, is re-armed until its time has come.
 */
export class WakeTimers {
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private stopped = false;

  constructor(
    private readonly onWake: (key: string) => void,
    private readonly clock: TimerClock = systemClock,
  ) {}

  /** Wakes `key` at `at` (ms since the epoch), replacing its earlier wake-up; null cancels. */
  schedule(key: string, at: number | null): void {
    if (at === null) return this.cancel(key);
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing) {
      if (existing.at === at) return;
      this.clock.clearTimeout(existing.handle);
    }
    this.arm(key, at);
  }

  /** Forgets the wake-up of `key`. */
  cancel(key: string): void {
    const existing = this.timers.get(key);
    if (existing) this.clock.clearTimeout(existing.handle);
    this.timers.delete(key);
  }

  /** When `key` wakes next, or undefined. */
  next(key: string): number | undefined {
    return this.timers.get(key)?.at;
  }

  /** How many wake-ups are pending. */
  get size(): number {
    return this.timers.size;
  }

  /** Cancels everything; later `schedule` calls do nothing (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const { handle } of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
  }

  private arm(key: string, at: number): void {
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock.now()));
    const handle = this.clock.setTimeout(() => this.fire(key, at), delay);
    this.timers.set(key, { at, handle });
  }

  private fire(key: string, at: number): void {
    if (this.timers.get(key)?.at !== at) return;
    if (this.clock.now() < at) return this.arm(key, at);
    this.timers.delete(key);
    this.onWake(key);
  }
}
