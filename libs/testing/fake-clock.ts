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
