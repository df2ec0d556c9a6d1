import { HttpException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { Observable } from 'rxjs';
import {
  ROLLOUT_ACTIONS,
  ROLLOUT_ACTIONS_CONTROL,
  type RolloutActionReply,
  RolloutActionReplySchema,
  type RolloutActionRequest,
  RolloutActionStatus,
  RolloutActionType,
  RolloutActionTypeSchema,
  type Subjects,
} from '../../libs/contracts/index.js';
import {
  InvalidInputError,
  type PageRequest,
  type Rollout,
  RolloutRepository,
  TERMINAL_ROLLOUT_STATES,
} from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import type { RolloutStrategy } from '../../libs/bundles/index.js';
import { stagePlanOf } from '../../libs/rollouts/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import type { RolloutAuditView, RolloutView } from '../../libs/contracts/api-views.js';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A stage's bake time (ms) and whether it waits for a promote, from the rollout's strategy. */
function stageGates(strategy: RolloutStrategy, name: string) {
  const plan = stagePlanOf(strategy, name);
  return { bakeTimeMs: plan.bakeTime, requireApproval: plan.requireApproval };
}

/** A rollout as the API shows it: stages with their clusters, failures, timestamps. */
export function rolloutView(r: Rollout): RolloutView {
  const record = r.record;
  const cluster = (name: string) => {
    const c = record.clusters[name];
    return {
      name,
      state: c?.state ?? 'Waiting',
      ...(c?.reason ? { reason: c.reason } : {}),
      releasedAt: iso(c?.releasedAt),
      readySince: iso(c?.readySince),
    };
  };
  return {
    id: r.id,
    bundle: r.bundle,
    fromCommit: r.fromCommit,
    toCommit: r.toCommit,
    state: r.state,
    reason: r.reason,
    failures: record.failures,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    stages: record.stages.map((s) => ({
      name: s.name,
      state: s.state,
      approved: s.approved,
      ...stageGates(r.strategy, s.name),
      startedAt: iso(s.startedAt),
      bakedSince: iso(s.bakedSince),
      clusters: s.clusters.map(cluster),
    })),
    unmatched: Object.entries(record.clusters)
      .filter(([, c]) => c.state === 'Skipped')
      .map(([name]) => name)
      .sort(),
  };
}
export type { RolloutView };

/** Rollouts for REST and gRPC: reading, watching, and operator actions. */
@Injectable()
export class RolloutsService {
  constructor(
    private readonly rollouts: RolloutRepository,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
  ) {}

  async list(filter: { bundle?: string; state?: string }, page: PageRequest) {
    const result = await this.rollouts.list(filter, page);
    return { ...result, items: result.items.map(rolloutView) };
  }

  async get(id: string): Promise<RolloutView> {
    return rolloutView(await this.rollouts.get(id));
  }

  async audit(id: string): Promise<RolloutAuditView[]> {
    return (await this.rollouts.auditTrail(id)).map((a) => ({
      at: a.at.toISOString(),
      actor: a.actor,
      action: a.action,
      from: a.fromState,
      to: a.toState,
      ...a.detail,
    }));
  }

  /**
   * Asks the rollouts service (which drives rollouts, one replica per bundle) to apply an
   * operator action; its refusal comes back as a 409 with the reason. A promote naming the
   * `stage` the operator saw is refused when another stage is current by then.
   */
  async act(
    id: string,
    action: string,
    actor: string,
    reason?: string,
    stage?: string,
  ): Promise<RolloutView> {
    const type = RolloutActionTypeSchema.safeParse(action);
    if (!type.success) {
      throw new InvalidInputError(
        `unknown action "${action}"; use one of ${ROLLOUT_ACTIONS.join(', ')}`,
      );
    }
    if (stage !== undefined && type.data !== RolloutActionType.Promote) {
      throw new InvalidInputError(`"stage" is for promote only, not for ${action}`);
    }
    await this.rollouts.get(id);
    const request: RolloutActionRequest = {
      rollout: id,
      action: type.data,
      by: actor,
      reason,
      stage,
    };
    let answer: RolloutActionReply | undefined;
    try {
      const msg = await this.nc.request(
        this.subjects.control(ROLLOUT_ACTIONS_CONTROL),
        JSON.stringify(request),
        { timeout: 10_000 },
      );
      answer = RolloutActionReplySchema.safeParse(parseJson(msg.data)).data;
    } catch {
      throw new ServiceUnavailableException('the rollouts service did not answer; is it running?');
    }
    if (answer === undefined) throw new HttpException('action refused', RolloutActionStatus.Failed);
    if (answer.status !== RolloutActionStatus.Applied)
      throw new HttpException(answer.message, answer.status);
    return this.get(id);
  }

  /** The rollout now, then on every change, completing once it is finished. */
  watch(id: string): Observable<RolloutView> {
    return new Observable<RolloutView>((subscriber) => {
      let last = '';
      let closed = false;
      const emit = async () => {
        const view = await this.get(id);
        const text = JSON.stringify(view);
        if (text !== last) {
          last = text;
          subscriber.next(view);
        }
        if (TERMINAL_ROLLOUT_STATES.includes(view.state)) {
          closed = true;
          subscriber.complete();
        }
      };
      const fail = (err: unknown) => {
        if (!closed) subscriber.error(err);
      };
      const sub = this.nc.subscribe(this.subjects.event('rollout', id), {
        callback: () => void emit().catch(fail),
      });
      // Bake times pass without events; a slow poll keeps timestamps current.
      const timer = setInterval(() => void emit().catch(fail), 2000);
      emit().catch(fail);
      return () => {
        closed = true;
        clearInterval(timer);
        sub.unsubscribe();
      };
    });
  }
}
