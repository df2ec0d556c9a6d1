import type { DesiredChange } from './sync-diff.js';

/**
 * How desired state an agent has not acknowledged is sent again: per deployment, waits that
 * double up to a cap, with jitter; over all deployments, at most `perTick` re-sends per tick,
 * however large the backlog.
 */
export interface ResendPolicy {
  /**
   * How long a deployment stays unacknowledged (no report since it was desired or last reported)
   * before its first re-send; each later wait doubles from here.
   */
  firstMs: number;
  /** The longest wait between two re-sends of one deployment. */
  maxMs: number;
  /** The part of each wait drawn at random: 0.5 waits between half and all of it. */
  jitter: number;
  /** The most re-sends of one tick, over all deployments. */
  perTick: number;
}

/** A deployment that has been unacknowledged for at least `firstMs`, as a sweep reads it. */
export interface UnacknowledgedChange {
  change: DesiredChange;
  /**
   * When its clock started (the later of its desired and last reported times, in ms): a report
   * or a new desired revision moves it, and that starts the deployment's back-off over.
   */
  since: number;
}

/** A deployment's place in the sweep order (bundle, then cluster, by code units). */
export interface DeploymentKey {
  bundle: string;
  cluster: string;
}

/**
 * The wait after the `sent`-th re-send of one deployment before the next: `firstMs` doubled
 * `sent` times, at most `maxMs`, less up to `jitter` of it drawn from `random` (in [0, 1)).
 */
export function resendWaitMs(policy: ResendPolicy, sent: number, random: number): number {
  const full = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(sent, 52));
  return Math.round(full * (1 - policy.jitter * random));
}

interface Entry {
  since: number;
  sent: number;
  dueAt: number;
  /** The sweep that last saw the deployment unacknowledged. */
  sweep: number;
}

const keyOf = (c: DesiredChange): string => `${c.bundle}\u0000${c.cluster}`;

/**
 * Which unacknowledged deployments to re-send at each tick. The caller reads them page by page in
 * (bundle, cluster) order from {@link cursor}, so a tick reads a bounded page whatever the
 * backlog, and hands each page to {@link take}; the schedule keeps, per deployment, how many
 * re-sends it made since its clock started and when the next is due. Plain state, no timers.
 */
export class ResendSchedule {
  private readonly entries = new Map<string, Entry>();
  private sweep = 0;
  /** Where the next page starts (after this deployment); undefined: at the beginning. */
  cursor: DeploymentKey | undefined;

  constructor(
    private readonly policy: ResendPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Deployments with a re-send made and their clock not started over (for tests and metrics). */
  get tracked(): number {
    return this.entries.size;
  }

  /**
   * The changes of `page` (read after {@link cursor}, at most `pageSize` rows) to re-send at
   * `now`: those never re-sent since their clock started, or whose wait is over, in page order,
   * at most `perTick`. Moves the cursor: past the page, or to the last one taken when the budget
   * ran out (the rest come first next tick), or back to the beginning after the last page.
   */
  take(page: readonly UnacknowledgedChange[], pageSize: number, now: number): DesiredChange[] {
    const send: DesiredChange[] = [];
    let stoppedAt: DesiredChange | undefined;
    for (const { change, since } of page) {
      const key = keyOf(change);
      let entry = this.entries.get(key);
      if (entry === undefined || entry.since !== since) {
        entry = { since, sent: 0, dueAt: now, sweep: this.sweep };
        this.entries.set(key, entry);
      }
      entry.sweep = this.sweep;
      if (entry.dueAt > now) continue;
      if (send.length >= this.policy.perTick) {
        stoppedAt = send[send.length - 1];
        break;
      }
      send.push(change);
      entry.sent++;
      entry.dueAt = now + resendWaitMs(this.policy, entry.sent, this.random());
    }
    if (stoppedAt !== undefined) {
      this.cursor = { bundle: stoppedAt.bundle, cluster: stoppedAt.cluster };
    } else if (page.length >= pageSize && page.length > 0) {
      const last = page[page.length - 1]!.change;
      this.cursor = { bundle: last.bundle, cluster: last.cluster };
    } else {
      this.endSweep();
    }
    return send;
  }

  /**
   * The last page of a sweep was read: deployments not seen in it nor in the sweep before are
   * acknowledged (or their cluster is Offline) and are forgotten, so they start over.
   */
  private endSweep(): void {
    this.cursor = undefined;
    for (const [key, entry] of this.entries) {
      if (entry.sweep < this.sweep) this.entries.delete(key);
    }
    this.sweep++;
  }
}
