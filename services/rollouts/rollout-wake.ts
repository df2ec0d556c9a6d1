/** What one delivery pass learnt about a bundle's rollout. */
export interface RolloutPass {
  /** Whether this replica held the bundle's lease and planned it. */
  leased: boolean;
  /** Whether the bundle has a rollout that is not over (as planned, or as the rollout events say). */
  running: boolean;
  /** The planner's `wakeAt` (when leased): when a bake time or a deadline next elapses. */
  wakeAt: number | null;
  now: number;
  /** How long a lease lasts without being renewed. */
  leaseMs: number;
}

/**
 * When the bundle must be delivered again although no event came, or null for only on events:
 * at the planner's `wakeAt` for the replica that planned it; when the lease would lapse for a
 * replica refused it, rollout or not (the pass it was asked for — new targets of a commit — may
 * have reached no other replica, and a stopped replica's rollout is taken over); never for the
 * leaseholder once the rollout is over.
 */
export function nextRolloutWake(pass: RolloutPass): number | null {
  if (!pass.leased) return pass.now + pass.leaseMs;
  if (!pass.running) return null;
  return pass.wakeAt;
}
