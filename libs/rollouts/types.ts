import { RolloutActionType } from '../contracts/index.js';

// The vocabulary of staged rollouts: the states of a rollout, of its stages and of each cluster
// in it, what the planner observes of a cluster, the record the hub stores between two calls of
// the planner, the operator actions it accepts and the decisions and events it hands back.

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

/** Rollout states that never change again. */
export const terminalRolloutStates: readonly RolloutState[] = [
  RolloutState.Succeeded,
  RolloutState.Failed,
  RolloutState.Aborted,
  RolloutState.RolledBack,
  RolloutState.Superseded,
];

/** Whether a rollout in this state is over for good. */
export function isTerminal(state: RolloutState): boolean {
  return terminalRolloutStates.includes(state);
}

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

/** Cluster states that count as failures against `maxFailures`. */
export const failedClusterStates: readonly ClusterRolloutState[] = [
  ClusterRolloutState.Failed,
  ClusterRolloutState.TimedOut,
];

/** Cluster states of clusters told to run the new revision (what a rollback sends back). */
export const releasedClusterStates: readonly ClusterRolloutState[] = [
  ClusterRolloutState.Updating,
  ClusterRolloutState.Baking,
  ClusterRolloutState.Succeeded,
  ClusterRolloutState.Failed,
  ClusterRolloutState.TimedOut,
];

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

/** What an agent last reported for the bundle on a cluster (`Pending` before any report). */
export type ReportedState =
  'WaitApplied' | 'ErrApplied' | 'Modified' | 'NotReady' | 'Ready' | 'Pending';

/** What the hub knows of one targeted cluster when it calls the planner. */
export interface ClusterObservation {
  name: string;
  labels: Record<string, string>;
  /** Names of the cluster groups it belongs to. */
  groups: string[];
  /** Whether its heartbeat lease is current. */
  online: boolean;
  /** Revision id of the agent's last report for the bundle, null before any. */
  reportedRevision: string | null;
  /** State of that report; it speaks for `reportedRevision` only, never for another revision. */
  reportedState: ReportedState;
  /** The message of that report (why it is not Ready), quoted in failure reasons. */
  message?: string;
}

/** One stage of a rollout as stored. */
export interface StageRecord {
  name: string;
  /** The clusters assigned to it, sorted by name; released in that order. */
  clusters: string[];
  state: StageState;
  /** When it became the current stage. */
  startedAt?: number;
  /** When the last of its clusters became Ready, once all are done; the stage bake runs from here. */
  bakedSince?: number;
  /** Whether an operator promoted it: its approval gate is open and its bake time is waived. */
  approved: boolean;
}

/** One cluster of a rollout as stored. */
export interface ClusterRecord {
  state: ClusterRolloutState;
  /** Name of its stage; null for a Skipped cluster that matches no stage. */
  stage: string | null;
  /** When it entered its current state (the progress deadline of an Updating cluster runs from here). */
  since: number;
  /** When the planner released it to the new revision. */
  releasedAt?: number;
  /** Since when it has been Ready at the new revision without interruption; absent when it is not. */
  readySince?: number;
  /** Why it is in its state, for humans. */
  reason?: string;
}

/**
 * Everything the planner needs to continue a rollout: the controller stores it (PostgreSQL JSON)
 * and hands it back unchanged on the next call. The planner never mutates it; it returns a new one.
 */
export interface RolloutRecord {
  state: RolloutState;
  /** Revision the clusters ran before; null for a first deployment (rolling back removes the bundle). */
  fromRevision: string | null;
  /** Revision being rolled out. */
  toRevision: string;
  /** How messages name `fromRevision` for people (e.g. "commit 1a2b3c4d"); absent: its id. */
  fromLabel?: string;
  /** How messages name `toRevision` for people; absent: its id. */
  toLabel?: string;
  /** In the order they run. */
  stages: StageRecord[];
  /** Every targeted cluster, Skipped ones included. */
  clusters: Record<string, ClusterRecord>;
  /** Clusters now Failed or TimedOut. */
  failures: number;
  /** Failures an operator accepted by resuming a rollout paused for them; only more trip `onFailure`. */
  acceptedFailures: number;
  /** The operator who paused it; absent when it paused itself (`onFailure: pause`). */
  pausedBy?: string;
  /** Why it is in its state, for humans. */
  reason?: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * Operator action types (REST `/rollouts/{id}/pause|resume|promote|abort|rollback`): the names of
 * the operator-action contract.
 */
export const ActionType = RolloutActionType;
/** One of the operator action types. */
export type ActionType = RolloutActionType;

/** A request of an operator, applied by the next `planRollout` call. */
export interface OperatorAction {
  type: ActionType;
  /** Who asked; recorded in the events. */
  by: string;
  /** For `promote`: the stage the operator saw as current; a stale promote is rejected, not applied to the next stage. */
  stage?: string;
  /** Free text from the operator, recorded in the events. */
  reason?: string;
}

/** An action the planner did not apply, and why. */
export interface RejectedAction {
  action: OperatorAction;
  reason: string;
}

/** Kinds of rollout events. */
export const RolloutEventType = {
  /** The rollout changed state. */
  RolloutStateChanged: 'RolloutStateChanged',
  /** A stage changed state. */
  StageStateChanged: 'StageStateChanged',
  /** An operator promoted a stage (`from`/`to` are the approval flag). */
  StageApproved: 'StageApproved',
  /** A cluster changed state. */
  ClusterStateChanged: 'ClusterStateChanged',
  /** An operator accepted the failures so far by resuming (`from`/`to` are the accepted counts). */
  FailuresAccepted: 'FailuresAccepted',
} as const;
/** One of the rollout event types. */
export type RolloutEventType = (typeof RolloutEventType)[keyof typeof RolloutEventType];

/** One transition, for the event log, `rollout watch` and the narrated demo. */
export interface RolloutEvent {
  type: RolloutEventType;
  stage?: string;
  cluster?: string;
  from: string;
  to: string;
  reason: string;
  /** The operator, when an action caused it. */
  by?: string;
  at: number;
}

/** The decisions of one planner call; carrying them out is all the controller does. */
export interface RolloutPlan {
  /** The new record to store (a fresh object; the input is left untouched). */
  record: RolloutRecord;
  /** Clusters to move to `record.toRevision` now. */
  release: string[];
  /** Clusters to move back to `rollbackTo` now. */
  rollback: string[];
  /** Where `rollback` clusters go: `record.fromRevision`; null means remove the bundle from them. */
  rollbackTo: string | null;
  /** Every transition of this call, in order. */
  events: RolloutEvent[];
  /** Operator actions that were not applied. */
  rejected: RejectedAction[];
  /** Observed clusters the rollout does not know (targeted after it began); it leaves them alone. */
  untracked: string[];
  /** When a timer (bake time, progress deadline) next elapses: call the planner again then. Null: nothing pending. */
  wakeAt: number | null;
}

/** What `createRollout` returns. */
export interface CreatedRollout {
  record: RolloutRecord;
  /** Clusters that match no stage, recorded as Skipped: tell the user. */
  unmatched: string[];
  /** Problems with the strategy worth telling the user (a stage that selects nobody, an unknown name). */
  warnings: string[];
}
