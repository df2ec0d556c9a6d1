/** Refusal of {@link KeyedLimiter.run}: the key has its slots and its queue full. */
export class LimiterFullError extends Error {
  override readonly name = 'LimiterFullError';
}

/**
 * Runs work per key (a cluster) with at most `concurrency` tasks at once and at most `queue`
 * waiting; more is refused at once. One key's burst therefore takes a bounded share of the
 * process, and other keys' work never waits behind it.
 */
export class KeyedLimiter {
  private readonly keys = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  /** Whether a task for `key` would be refused now. */
  full(key: string): boolean {
    const k = this.keys.get(key);
    return k !== undefined && k.running >= this.concurrency && k.waiting.length >= this.queue;
  }

  /** Runs `task` when a slot of `key` is free; rejects with LimiterFullError when none can wait. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let k = this.keys.get(key);
    if (k === undefined) {
      k = { running: 0, waiting: [] };
      this.keys.set(key, k);
    }
    if (k.running >= this.concurrency) {
      if (k.waiting.length >= this.queue) throw new LimiterFullError(`${key}: too busy`);
      // The task that finishes hands its slot over (running stays as it is).
      await new Promise<void>((resolve) => k.waiting.push(resolve));
    } else {
      k.running++;
    }
    try {
      return await task();
    } finally {
      const next = k.waiting.shift();
      if (next !== undefined) next();
      else if (--k.running === 0) this.keys.delete(key);
    }
  }
}
