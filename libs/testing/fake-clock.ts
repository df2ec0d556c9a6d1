import type { TimerClock } from '../liveness/lease.js';

/** A clock whose time only moves when the test says so; timers fire as it passes them. */
export class FakeClock implements TimerClock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  /** How much earlier than asked timers longer than that fire (Node's may, by a millisecond). */
  early = 0;

  constructor(private t = 0) {}

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++;
    const delay = ms > this.early ? ms - this.early : Math.max(0, ms);
    this.timers.push({ at: this.t + delay, fn, id });
    return id;
  };

  clearTimeout = (id: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };

  /** Timers armed and not fired or cleared yet. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way in time order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await Promise.resolve();
    }
    this.t = end;
  }
}

/**
 * A clock that runs with the system's and that a test moves ahead: `advance(ms)` skips `ms` at
 * once and fires the timers due by then, in time order (a hub's services on it see a bake time
 * pass without the test waiting it out). Timers not skipped over fire at their time, as the
 * system's do (unref'd).
 */
export class SkippableClock implements TimerClock {
  private offset = 0;
  private nextId = 1;
  private readonly timers = new Map<
    number,
    { at: number; fn: () => void; timer: NodeJS.Timeout }
  >();

  now = (): number => Date.now() + this.offset;

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    timer.unref();
    this.timers.set(id, { at: this.now() + ms, fn, timer });
    return id;
  };

  clearTimeout = (id: unknown): void => {
    const entry = this.timers.get(id as number);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.timers.delete(id as number);
  };

  /** Moves time forward by `ms`, firing every timer due by then in time order. */
  advance(ms: number): void {
    this.offset += ms;
    const now = this.now();
    const due = [...this.timers]
      .filter(([, t]) => t.at <= now)
      .sort(([a, x], [b, y]) => x.at - y.at || a - b);
    for (const [id, t] of due) {
      clearTimeout(t.timer);
      this.timers.delete(id);
      t.fn();
    }
  }
}
