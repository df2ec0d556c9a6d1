/** How often the hub's own clock ticks to notice that it was stalled. */
export const OBSERVATION_TICK_MS = 500;
/** How much later than due a tick may come before the hub counts itself stalled. */
export const STALL_THRESHOLD_MS = 1_000;

/**
 * The time the hub has been observing heartbeats without a gap. Leases are judged with the hub's
 * own clock, and time in which the hub could not observe — its event loop blocked, the process
 * stopped or not yet started — does not count against agents: after such a gap, no lease is
 * judged expired until the hub has observed for `graceMs` (one heartbeat interval, in which every
 * live agent heartbeats and the heartbeats that queued up during the gap are read).
 *
 * A timer calls `tick()` every `tickMs`; a tick (or a judgement) that finds the last tick longer
 * ago than `tickMs + stallThresholdMs` ends a gap now.
 */
export class ObservationWindow {
  private observingSince: number;
  private lastTick: number;

  constructor(
    private readonly graceMs: number,
    private readonly clock: { now(): number },
    /** Called with the length of a gap when one is noticed. */
    private readonly onGap: (gapMs: number, judgeFrom: number) => void = () => undefined,
    private readonly tickMs = OBSERVATION_TICK_MS,
    private readonly stallThresholdMs = STALL_THRESHOLD_MS,
  ) {
    // Starting is the end of a gap: the hub observed nothing before.
    this.observingSince = this.lastTick = clock.now();
  }

  /** The hub's periodic tick. */
  tick(): void {
    this.notice();
  }

  /** The earliest time (epoch ms) at which a lapsed lease may be judged expired. */
  judgeFrom(): number {
    this.notice();
    return this.observingSince + this.graceMs;
  }

  private notice(): void {
    const now = this.clock.now();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (gap > this.tickMs + this.stallThresholdMs) {
      this.observingSince = now;
      this.onGap(gap, now + this.graceMs);
    }
  }
}

/** What to do with leases that look lapsed: expire some now, look at others again later. */
export interface LeaseJudgement {
  expire: string[];
  later: { name: string; at: number }[];
}

/**
 * Judges leases that look lapsed (by a timer, or in PostgreSQL) at `now`: none before `judgeFrom`
 * (the hub was not observing long enough, see {@link ObservationWindow}); and none whose cluster
 * this hub received a heartbeat from that still holds (`received`: the lease expiry, by the hub's
 * clock, of each cluster's last heartbeat received), whether or not PostgreSQL has it yet — the
 * database may be what is slow.
 */
export function judgeLeases(
  candidates: readonly string[],
  received: ReadonlyMap<string, number>,
  now: number,
  judgeFrom: number,
): LeaseJudgement {
  const judgement: LeaseJudgement = { expire: [], later: [] };
  for (const name of candidates) {
    const heldUntil = received.get(name);
    if (now < judgeFrom) judgement.later.push({ name, at: Math.max(judgeFrom, heldUntil ?? 0) });
    else if (heldUntil !== undefined && heldUntil > now)
      judgement.later.push({ name, at: heldUntil });
    else judgement.expire.push(name);
  }
  return judgement;
}
