// Staged rollouts: a pure planner that decides, from a rollout strategy, the stored rollout
// record, what the clusters report and the time, which clusters move to the new revision and
// which back, and every transition. The rollouts service stores the record and carries out the
// decisions (DESIGN.md "Rollouts").

/** States of rollouts, stages and clusters, and which of them are terminal / failures / released. */
export {
  ActionType,
  ClusterRolloutState,
  RolloutEventType,
  RolloutState,
  StageState,
  failedClusterStates,
  isTerminal,
  releasedClusterStates,
  terminalRolloutStates,
} from './types.js';
/** Planner inputs (observations, stored record, operator actions) and outputs (plan, events). */
export type {
  ClusterObservation,
  ClusterRecord,
  CreatedRollout,
  OperatorAction,
  RejectedAction,
  ReportedState,
  RolloutEvent,
  RolloutPlan,
  RolloutRecord,
  StageRecord,
} from './types.js';

/** Starting, planning, superseding a rollout; checking an action; the level of desired revisions. */
export {
  checkAction,
  createRollout,
  currentStage,
  desiredRevisions,
  planRollout,
  supersedeRollout,
} from './planner.js';

/** Dividing clusters into stages, and the defaults and rounding of counts and percentages. */
export {
  DEFAULT_AUTO_PARTITION_SIZE,
  DEFAULT_MAX_FAILURES,
  DEFAULT_MAX_UNAVAILABLE,
  DEFAULT_PROGRESS_DEADLINE_MS,
  assignStages,
  autoPartitionSizeOf,
  maxFailuresOf,
  maxUnavailableOf,
  partitionName,
  scaledCount,
  stagePlanOf,
} from './stages.js';
/** A count or percentage, a resolved stage, and the result of `assignStages`. */
export type { CountOrPercent, StageAssignment, StagePlan } from './stages.js';

/** A rollout in plain text, and how its messages name the revisions it moves between. */
export { describeRollout, revisionLabel } from './describe.js';
