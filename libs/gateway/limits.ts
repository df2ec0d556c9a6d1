import type { BucketRate } from './rate-limit.js';

/** The requests agents make of the hub (subjects `flotilla.hub.<cluster>.<kind>`). */
export const AgentRequestKind = {
  /** "These are the revisions I hold; send me what differs." */
  Sync: 'sync',
  /** One chunk of a revision's content. */
  Content: 'content',
} as const;
export type AgentRequestKind = (typeof AgentRequestKind)[keyof typeof AgentRequestKind];

/** What one cluster's agent may ask of the hub, per request kind. */
export interface AgentRequestLimits {
  /** Largest request payload, in bytes (refused before it is parsed). */
  maxBytes: number;
  /** Requests per cluster: a burst, then a steady rate. */
  rate: BucketRate;
  /** Requests of one cluster the hub works on at once. */
  concurrency: number;
  /** Requests of one cluster waiting for one of those slots; more are refused. */
  queue: number;
}

/**
 * Most bundles a sync request may say the agent holds. A cluster runs as many bundles as target
 * it (tens, hundreds); a list far longer is an agent gone wrong, and costs the hub a reply that
 * removes each of them.
 */
export const MAX_SYNC_HELD = 5000;

/**
 * The limits the hub applies to every cluster's requests. An agent syncs after each (re)connect
 * and fetches content chunks of one revision four at a time, well inside them; an agent beyond
 * them gets an error reply and tries again later (agents back off), while other clusters' requests
 * go on being answered.
 */
export const AGENT_REQUEST_LIMITS: Readonly<Record<AgentRequestKind, AgentRequestLimits>> = {
  sync: { maxBytes: 1024 * 1024, rate: { burst: 10, perSecond: 1 }, concurrency: 2, queue: 4 },
  content: { maxBytes: 1024, rate: { burst: 256, perSecond: 64 }, concurrency: 16, queue: 64 },
};

/** Why a sync request that parsed is refused anyway, or undefined when it is within limits. */
export function syncRequestProblem(
  held: readonly unknown[],
  maxHeld = MAX_SYNC_HELD,
): string | undefined {
  return held.length > maxHeld
    ? `the sync request holds ${held.length} bundles; at most ${maxHeld} are accepted`
    : undefined;
}
