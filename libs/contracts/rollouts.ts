import { z } from 'zod';

// The rollout record as the hub stores it between two calls of the planner (PostgreSQL `jsonb`,
// table `rollouts`): the states of a rollout, of its stages and of each cluster in it, with
// their names, and the schemas the repository parses every stored row with (never a cast).

/** State of a whole rollout (DESIGN.md "Rollouts"). */
export const RolloutState = {
  /** Created; the planner has not run yet. */
  Pending: 'Pending',
  /** Releasing clusters stage by stage. */
  Progressing: 'Progressing',
  /** Holding: no cluster is released and no stage passes until an operator resumes. */
  Paused: 'Paused',
  /** Every stage passed and every cluster in it runs the new revision. */
  Succeeded: 'Succeeded',
  /** Every stage passed, but some clusters failed (within `maxFailures`, or accepted by a resume). */
  Failed: 'Failed',
  /** Stopped by an operator; released clusters keep the new revision, the others the old one. */
  Aborted: 'Aborted',
  /** Every released cluster was sent back to the old revision (`onFailure: rollback` or an operator). */
  RolledBack: 'RolledBack',
  /** A newer revision started its own rollout; this one stops where it is. */
  Superseded: 'Superseded',
} as const;
/** One of the rollout states. */
export type RolloutState = (typeof RolloutState)[keyof typeof RolloutState];

/** State of one cluster within a rollout (DESIGN.md "Rollouts"). */
export const ClusterRolloutState = {
  /** Not released yet: still told to run the old revision. */
  Waiting: 'Waiting',
  /** Released: told to run the new revision, not (or no longer) Ready at it. */
  Updating: 'Updating',
  /** Ready at the new revision; must stay Ready for the stage's bake time. */
  Baking: 'Baking',
  /** Ready at the new revision for the bake time (or already Ready at it when the rollout began). */
  Succeeded: 'Succeeded',
  /** Reported `ErrApplied` at the new revision. Counts as a failure. */
  Failed: 'Failed',
  /** Not Ready at the new revision within `progressDeadline`. Counts as a failure. */
  TimedOut: 'TimedOut',
  /** Matches no stage: never released (reported in `unmatched`, never silently). */
  Skipped: 'Skipped',
} as const;
/** One of the per-cluster rollout states. */
export type ClusterRolloutState = (typeof ClusterRolloutState)[keyof typeof ClusterRolloutState];

/** State of one stage of a rollout. */
export const StageState = {
  /** An earlier stage has not passed yet. */
  Waiting: 'Waiting',
  /** The current stage: releasing its clusters and waiting for them to bake. */
  Progressing: 'Progressing',
  /** All its clusters are done; the stage's bake time is running. */
  Baking: 'Baking',
  /** All its clusters are done and baked; waits for a `promote` (`requireApproval`). */
  AwaitingApproval: 'AwaitingApproval',
  /** Passed its gate; the next stage may start. */
  Succeeded: 'Succeeded',
  /** The rollout was rolled back after this stage started: its released clusters were sent back. */
  RolledBack: 'RolledBack',
  /** The rollout ended (aborted, superseded, rolled back) before this stage passed or started. */
  Cancelled: 'Cancelled',
} as const;
/** One of the stage states. */
export type StageState = (typeof StageState)[keyof typeof StageState];

/** One stage of a rollout as stored. */
export const StageRecordSchema = z.object({
  name: z.string(),
  /** The clusters assigned to it, sorted by name; released in that order. */
  clusters: z.array(z.string()),
  state: z.enum(StageState),
  /** When it became the current stage. */
  startedAt: z.number().optional(),
  /** When the last of its clusters became Ready, once all are done; the stage bake runs from here. */
  bakedSince: z.number().optional(),
  /** Whether an operator promoted it: its approval gate is open and its bake time is waived. */
  approved: z.boolean(),
});
/** One stage of a rollout as stored. */
export type StageRecord = z.infer<typeof StageRecordSchema>;

/** One cluster of a rollout as stored. */
export const ClusterRecordSchema = z.object({
  state: z.enum(ClusterRolloutState),
  /** Name of its stage; null for a Skipped cluster that matches no stage. */
  stage: z.string().nullable(),
  /** When it entered its current state (the progress deadline of an Updating cluster runs from here). */
  since: z.number(),
  /** When the planner released it to the new revision. */
  releasedAt: z.number().optional(),
  /** Since when it has been Ready at the new revision without interruption; absent when it is not. */
  readySince: z.number().optional(),
  /** Why it is in its state, for humans. */
  reason: z.string().optional(),
});
/** One cluster of a rollout as stored. */
export type ClusterRecord = z.infer<typeof ClusterRecordSchema>;

/**
 * Everything the planner needs to continue a rollout: the controller stores it (PostgreSQL JSON)
 * and hands it back unchanged on the next call. The planner never mutates it; it returns a new one.
 */
export const RolloutRecordSchema = z.object({
  state: z.enum(RolloutState),
  /** Revision the clusters ran before; null for a first deployment (rolling back removes the bundle). */
  fromRevision: z.string().nullable(),
  /** Revision being rolled out. */
  toRevision: z.string(),
  /** How messages name `fromRevision` for people (e.g. "commit 1a2b3c4d"); absent: its id. */
  fromLabel: z.string().optional(),
  /** How messages name `toRevision` for people; absent: its id. */
  toLabel: z.string().optional(),
  /** In the order they run. */
  stages: z.array(StageRecordSchema),
  /** Every targeted cluster, Skipped ones included. */
  clusters: z.record(z.string(), ClusterRecordSchema),
  /** Clusters now Failed or TimedOut. */
  failures: z.number().int().nonnegative(),
  /** Failures an operator accepted by resuming a rollout paused for them; only more trip `onFailure`. */
  acceptedFailures: z.number().int().nonnegative(),
  /** The operator who paused it; absent when it paused itself (`onFailure: pause`). */
  pausedBy: z.string().optional(),
  /** Why it is in its state, for humans. */
  reason: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
/** The planner's stored record of one rollout. */
export type RolloutRecord = z.infer<typeof RolloutRecordSchema>;

/** Per cluster: the revision it ran before the rollout (null: none) and the one it moves to. */
export const RolloutRevisionsSchema = z.record(
  z.string(),
  z.object({ from: z.string().nullable(), to: z.string() }),
);
/** Per cluster: the revision it ran before the rollout and the one it moves to. */
export type RolloutRevisions = z.infer<typeof RolloutRevisionsSchema>;
