import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  ROLLOUT_ACTIONS,
  ROLLOUT_ACTIONS_CONTROL,
  type RolloutActionReply,
  RolloutActionRequestSchema,
  RolloutActionStatus,
  type Subjects,
} from '../../libs/contracts/index.js';
import { RolloutRepository, TERMINAL_ROLLOUT_STATES } from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { DeliveryLoop } from './delivery-loop.js';

/**
 * Answers the operator-action RPC the api service sends (`RolloutActionRequestSchema` on
 * `control(ROLLOUT_ACTIONS_CONTROL)`): applies the action in a delivery pass of the rollout's
 * bundle, on the replica that holds the bundle's lease, and answers with the rollout's state or
 * why the action was not applied.
 */
@Injectable()
export class RolloutActionsHandler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RolloutActions');
  private sub: Subscription | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly rollouts: RolloutRepository,
    private readonly loop: DeliveryLoop,
  ) {}

  onApplicationBootstrap(): void {
    // Operator actions reach every replica (no queue group): only the one holding the bundle's
    // lease carries one out and answers, the others stay silent.
    this.sub = this.nc.subscribe(this.subjects.control(ROLLOUT_ACTIONS_CONTROL), {
      callback: (_e, msg) => void this.answer(msg),
    });
  }

  private async answer(msg: Msg): Promise<void> {
    const reply: RolloutActionReply | undefined = await this.apply(parseJson(msg.data));
    if (reply !== undefined) msg.respond(JSON.stringify(reply));
  }

  /**
   * Applies one request and says how it went; undefined when another replica drives the
   * rollout (it answers: a request takes the first answer).
   */
  private async apply(data: unknown): Promise<RolloutActionReply | undefined> {
    const parsed = RolloutActionRequestSchema.safeParse(data);
    if (!parsed.success) {
      return {
        status: RolloutActionStatus.Invalid,
        message: `action must be one of ${ROLLOUT_ACTIONS.join(', ')}`,
      };
    }
    const req = parsed.data;
    const refused = (message: string): RolloutActionReply => ({
      status: RolloutActionStatus.Refused,
      message,
    });
    try {
      const rollout = await this.rollouts.get(req.rollout);
      if (TERMINAL_ROLLOUT_STATES.includes(rollout.state)) {
        return refused(`rollout ${rollout.id} is ${rollout.state}; it cannot ${req.action}`);
      }
      const decision = await this.loop.act(rollout.bundle, {
        type: req.action,
        by: req.by,
        ...(req.reason === undefined ? {} : { reason: req.reason }),
        // A promote of the stage the operator saw: the planner refuses it once another is current.
        ...(req.stage === undefined ? {} : { stage: req.stage }),
      });
      const rejected = decision.rejected[0];
      if (rejected) return refused(rejected.reason);
      if (decision.leased === false) return undefined;
      if (decision.rollout?.id !== rollout.id) {
        return refused(
          `rollout ${rollout.id} is no longer the active rollout of ${rollout.bundle}`,
        );
      }
      return { status: RolloutActionStatus.Applied, state: decision.rollout.state };
    } catch (err) {
      if ((err as Error).name === 'NotFoundError')
        return { status: RolloutActionStatus.NotFound, message: (err as Error).message };
      this.logger.error(`rollout action: ${String(err)}`);
      return { status: RolloutActionStatus.Failed, message: 'internal error' };
    }
  }

  onModuleDestroy(): void {
    this.sub?.unsubscribe();
  }
}
