import { z } from 'zod';

/**
 * The operator-action RPC: the api service asks the rollouts service (which drives rollouts, one
 * replica per bundle) to apply an operator's action to a rollout, on
 * `subjects.control(ROLLOUT_ACTIONS_CONTROL)`. Both sides parse what they receive with these
 * schemas.
 */

/** The control name of the operator-action RPC (`subjects.control(...)`). */
export const ROLLOUT_ACTIONS_CONTROL = 'rollouts';

/** The operator actions on a rollout. */
export const RolloutActionType = {
  Pause: 'pause',
  Resume: 'resume',
  Promote: 'promote',
  Abort: 'abort',
  Rollback: 'rollback',
} as const;
export type RolloutActionType = (typeof RolloutActionType)[keyof typeof RolloutActionType];

/** Every operator action, in the order they are listed to users. */
export const ROLLOUT_ACTIONS: readonly RolloutActionType[] = Object.values(RolloutActionType);

/** One of the operator actions. */
export const RolloutActionTypeSchema = z.enum(RolloutActionType);

/** api → rollouts: apply `action` to rollout `rollout`. */
export const RolloutActionRequestSchema = z.object({
  /** The rollout's id. */
  rollout: z.string().min(1),
  action: RolloutActionTypeSchema,
  /** Who asked, for the audit trail. */
  by: z.string().default('anonymous'),
  /** Free text from the operator. */
  reason: z.string().optional(),
  /** For `promote`: the stage the operator saw as current (a stale promote is refused). */
  stage: z.string().optional(),
});
export type RolloutActionRequest = z.input<typeof RolloutActionRequestSchema>;

/** The HTTP-like status of an answer to an operator action. */
export const RolloutActionStatus = {
  /** Applied; the answer carries the rollout's state. */
  Applied: 200,
  /** The request was malformed. */
  Invalid: 400,
  /** No such rollout. */
  NotFound: 404,
  /** Refused: the rollout is finished, no longer active, or the planner refused the action. */
  Refused: 409,
  /** The rollouts service failed. */
  Failed: 500,
  /** Another rollouts replica drives the rollout for now; retry. */
  Unavailable: 503,
} as const;
export type RolloutActionStatus = (typeof RolloutActionStatus)[keyof typeof RolloutActionStatus];

/** rollouts → api: the action was applied; the rollout is now in `state`. */
export const RolloutActionAppliedSchema = z.object({
  status: z.literal(RolloutActionStatus.Applied),
  state: z.string(),
});

/** rollouts → api: the action was not applied, and why (`message`, shown to the operator). */
export const RolloutActionErrorSchema = z.object({
  status: z.union([
    z.literal(RolloutActionStatus.Invalid),
    z.literal(RolloutActionStatus.NotFound),
    z.literal(RolloutActionStatus.Refused),
    z.literal(RolloutActionStatus.Failed),
    z.literal(RolloutActionStatus.Unavailable),
  ]),
  message: z.string(),
});
export type RolloutActionError = z.infer<typeof RolloutActionErrorSchema>;

/** The answer to an operator-action request. */
export const RolloutActionReplySchema = z.union([
  RolloutActionAppliedSchema,
  RolloutActionErrorSchema,
]);
export type RolloutActionReply = z.infer<typeof RolloutActionReplySchema>;
