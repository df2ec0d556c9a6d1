import { HttpException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { PlanReplySchema, type Subjects } from '../../libs/contracts/index.js';
import { GitRepoRepository, type PlanEntity, PlanRepository } from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

/** How long a plan may take: it renders every bundle of the commit (helm, kustomize). */
const PLAN_TIMEOUT_MS = 300_000;

/** A stored plan as REST and gRPC show it. */
export interface PlanView {
  id: string;
  gitrepo: string;
  commit: string;
  branch: string | null;
  revision: string | null;
  trigger: string;
  createdAt: string;
  summary: Record<string, unknown>;
  [key: string]: unknown;
}

/** Plans: asks the resolver to compute one (it renders), reads stored ones. */
@Injectable()
export class PlansService {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly repos: GitRepoRepository,
    private readonly plans: PlanRepository,
  ) {}

  /**
   * Plans `gitrepo` at a revision, a branch, or its own branch head; returns the stored plan.
   * The resolver renders; nothing is deployed.
   */
  async create(
    gitrepo: string,
    ref: { revision?: string; branch?: string },
    trigger = 'api',
  ): Promise<PlanView> {
    await this.repos.get(gitrepo); // 404 before asking the resolver
    let raw: unknown;
    try {
      const msg = await this.nc.request(
        this.subjects.control('plans'),
        JSON.stringify({ gitrepo, ...ref, trigger }),
        { timeout: PLAN_TIMEOUT_MS },
      );
      raw = parseJson(msg.data);
    } catch {
      throw new ServiceUnavailableException('the resolver service did not answer; is it running?');
    }
    const reply = PlanReplySchema.safeParse(raw);
    if (!reply.success) throw new ServiceUnavailableException('the resolver gave no plan');
    if (!reply.data.ok) throw new HttpException(reply.data.message, reply.data.status);
    return this.get(reply.data.id);
  }

  /** A stored plan by id, or the newest of a commit. */
  async get(idOrCommit: string): Promise<PlanView> {
    return planView(await this.plans.get(idOrCommit));
  }
}

function planView(p: PlanEntity): PlanView {
  return {
    ...p.result,
    id: p.id,
    gitrepo: p.gitrepo,
    commit: p.commit,
    branch: p.branch,
    revision: p.revision,
    trigger: p.trigger,
    createdAt: p.createdAt.toISOString(),
    summary: p.summary,
  };
}
