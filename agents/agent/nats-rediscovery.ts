import type { BootstrapResponse } from '../../libs/contracts/index.js';

/** How long NATS may be unreachable before the agent asks the hub where NATS is now. */
export const REDISCOVER_AFTER_MS = 10_000;
/** The longest wait between two asks while NATS stays unreachable. */
export const REDISCOVER_MAX_INTERVAL_MS = 60_000;
/** The first wait after an ask the hub did not answer at all (it may be restarting). */
const UNANSWERED_FIRST_WAIT_MS = 1_000;

/** How an ask went: the hub answered (whatever it said), or could not be reached. */
export type AskOutcome = 'answered' | 'unreachable';

/** What a {@link NatsRediscovery} reads the time and chance from; tests inject fixed ones. */
export interface RediscoveryClock {
  now(): number;
  /** A number in [0, 1). */
  random(): number;
}

const systemClock: RediscoveryClock = { now: () => Date.now(), random: () => Math.random() };

/**
 * When an agent that cannot reach NATS asks the hub again (bootstrap) for the NATS URL and
 * credentials: the hub may have moved NATS (a restarted hub whose port was taken) or issued new
 * keys. The first ask comes `afterMs` after NATS became unreachable — a short blip costs no
 * request. After an answer, later asks back off (doubling, at most `maxIntervalMs`); while the
 * hub does not answer at all (it may be restarting, and will name its new NATS once up), they
 * come sooner: after 1 s, doubling up to `afterMs`. Every wait is up to a quarter shorter by
 * chance, so that a fleet does not ask in step. Reaching NATS resets it.
 */
export class NatsRediscovery {
  private unreachableSince: number | undefined;
  private lastAsk: number | undefined;
  private answered = 0;
  private unanswered = 0;
  private lastOutcome: AskOutcome = 'answered';

  constructor(
    private readonly afterMs = REDISCOVER_AFTER_MS,
    private readonly maxIntervalMs = REDISCOVER_MAX_INTERVAL_MS,
    private readonly clock: RediscoveryClock = systemClock,
  ) {}

  /** NATS is reachable: nothing to ask, and the next outage starts afresh. */
  reachable(): void {
    this.unreachableSince = undefined;
    this.lastAsk = undefined;
    this.answered = 0;
    this.unanswered = 0;
  }

  /** NATS is not reachable (since now, unless it was not already). */
  unreachable(): void {
    this.unreachableSince ??= this.clock.now();
  }

  /** The hub was asked, and answered or not: the next ask waits longer. */
  asked(outcome: AskOutcome): void {
    this.lastAsk = this.clock.now();
    this.lastOutcome = outcome;
    if (outcome === 'answered') {
      this.answered++;
      this.unanswered = 0;
    } else {
      this.unanswered++;
    }
  }

  /** How long until the hub should be asked (0: now); undefined while NATS is reachable. */
  delayMs(): number | undefined {
    if (this.unreachableSince === undefined) return undefined;
    const now = this.clock.now();
    if (this.lastAsk === undefined) return Math.max(0, this.unreachableSince + this.afterMs - now);
    const ceiling =
      this.lastOutcome === 'answered'
        ? Math.min(this.maxIntervalMs, this.afterMs * 2 ** Math.min(this.answered, 20))
        : Math.min(this.afterMs, UNANSWERED_FIRST_WAIT_MS * 2 ** Math.min(this.unanswered - 1, 20));
    const wait = Math.round(ceiling * (1 - this.clock.random() / 4));
    return Math.max(0, this.lastAsk + wait - now);
  }
}

/** The parts of a bootstrap answer the agent's NATS connection is made with. */
export type NatsDetails = Pick<BootstrapResponse, 'natsUrl' | 'credentials' | 'inboxPrefix'>;

/**
 * Which of the NATS connection details differ between two bootstrap answers (names only: the
 * credentials are secret), in a fixed order; empty when the agent can keep its connection.
 */
export function changedNatsDetails(current: NatsDetails, fresh: NatsDetails): string[] {
  const fields = ['natsUrl', 'credentials', 'inboxPrefix'] as const;
  return fields.filter((field) => current[field] !== fresh[field]);
}
