import { RolloutActionType } from '../contracts/index.js';

// The vocabulary of staged rollouts: the states of a rollout, of its stages and of each cluster
// in it, what the planner observes of a cluster, the record the hub stores between two calls of
// the planner, the operator actions it accepts and the decisions and events it hands back.

import {
  ClusterRolloutState,
  RolloutState,
  StageState,
  type RolloutRecord,
} from '../contracts/rollouts.js';

// The states and the stored record are a contract (libs/contracts/rollouts.ts): the hub stores
// the record and reads it back through its schema.
export { ClusterRolloutState, RolloutState, StageState };
export type { ClusterRecord, RolloutRecord, StageRecord } from '../contracts/rollouts.js';

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
