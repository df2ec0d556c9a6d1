import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  type KubeObject,
  type RolloutStrategy,
  RolloutStrategySchema,
  foundInDiscovery,
  removableBundles,
} from '../../libs/bundles/index.js';
import {
  type PlanReply,
  type PlanRequest,
  PlanRequestSchema,
  type Subjects,
} from '../../libs/contracts/index.js';
import {
  BundleRepository,
  DeploymentRepository,
  type GitRepo,
  GitRepoRepository,
  NotFoundError,
  PlanRepository,
} from '../../libs/db/index.js';
import { GitError, GitRefNotFoundError } from '../../libs/git/index.js';
import { parseJson } from '../../libs/nats/index.js';
import {
  type BundlePlanInput,
  type CandidateVariant,
  planBundles,
} from '../../libs/plans/index.js';
import { matchesLabels } from '../../libs/selectors/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { renderBundle } from './bundle-render.js';
import { GitRepoSyncService } from './gitrepo-sync.service.js';

const QUEUE = 'flotilla-resolver-plans';

/** A plan request that cannot be answered as asked: its HTTP status and why. */
class PlanRefusal extends Error {
  override readonly name = 'PlanRefusal';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Plans: renders a candidate commit of a GitRepo exactly as a sync would (`renderBundle`, the
 * sync's inputs), compares each variant with what its clusters are told to run now, and stores
 * the result. Stores nothing as desired, renders nothing into the revision store, sends nothing
 * to agents.
 */
@Injectable()
export class PlanService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Plans');
  private sub: Subscription | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly sync: GitRepoSyncService,
    private readonly repos: GitRepoRepository,
    private readonly bundles: BundleRepository,
    private readonly deployments: DeploymentRepository,
    private readonly plans: PlanRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.sub = this.nc.subscribe(this.subjects.control('plans'), {
      queue: QUEUE,
      callback: (_e, msg) => {
        const run = this.answer(msg).finally(() => this.running.delete(run));
        this.running.add(run);
      },
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.sub?.unsubscribe();
    await Promise.allSettled([...this.running]);
  }

  private async answer(msg: Msg): Promise<void> {
    let reply: PlanReply;
    const parsed = PlanRequestSchema.safeParse(parseJson(msg.data));
    if (!parsed.success) {
      reply = { ok: false, status: 400, message: 'malformed plan request' };
    } else {
      try {
        reply = { ok: true, id: await this.plan(parsed.data) };
      } catch (err) {
        if (err instanceof PlanRefusal) {
          reply = { ok: false, status: err.status, message: err.message };
        } else {
          const message = err instanceof Error ? err.message : String(err);
          this.logger.warn(`plan of ${parsed.data.gitrepo}: ${message}`);
          reply = { ok: false, status: 500, message: `plan failed: ${message}` };
        }
      }
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  /** Computes and stores the plan `req` asks for; returns its id. */
  async plan(req: PlanRequest): Promise<string> {
    let repo: GitRepo;
    try {
      repo = await this.repos.get(req.gitrepo);
    } catch (err) {
      if (err instanceof NotFoundError) throw new PlanRefusal(404, err.message);
      throw err;
    }
    const ref =
      req.revision !== undefined
        ? { revision: req.revision }
        : req.branch !== undefined
          ? { branch: req.branch }
          : repo.revision
            ? { revision: repo.revision }
            : { branch: repo.branch ?? 'main' };
    let commit: string;
    try {
      commit = await this.sync.sourceFor(repo).resolve(ref);
    } catch (err) {
      if (err instanceof GitRefNotFoundError) throw new PlanRefusal(404, err.message);
      if (err instanceof GitError && !err.retryable) throw new PlanRefusal(400, err.message);
      if (err instanceof GitError) throw new PlanRefusal(503, err.message);
      throw err;
    }
    const result = await this.compute(repo, commit);
    const { summary, ...rest } = result;
    const id = randomUUID();
    await this.plans.save({
      id,
      gitrepo: repo.name,
      commit,
      branch: 'branch' in ref ? (ref.branch ?? null) : null,
      revision: 'revision' in ref ? (ref.revision ?? null) : null,
      trigger: req.trigger,
      summary: { ...summary },
      result: rest,
    });
    this.logger.log(`plan ${id} of ${repo.name} at ${commit.slice(0, 8)}: ${summary.text}`);
    return id;
  }

  /** The plan of `repo` at `commit`: every bundle found there and every bundle that would go. */
  private async compute(repo: GitRepo, commit: string) {
    const { discovery, ctx } = await this.sync.renderInputs(repo, commit);
    const groupsOf = (labels: Record<string, string>): string[] =>
      Object.entries(ctx.groups)
        .filter(([, reqs]) => matchesLabels(reqs, labels))
        .map(([name]) => name);
    const clusterInfo = new Map(
      ctx.clusters.map((c) => [c.name, { labels: c.labels, groups: groupsOf(c.labels) }]),
    );
    const existing = await this.bundles.ofRepo(repo.name);
    const known = new Set(existing.map((b) => b.name));
    const contents = new Map<string, KubeObject[]>();
    const load = async (revision: string | null): Promise<void> => {
      if (revision === null || contents.has(revision)) return;
      const content = await this.bundles.revisionContent(revision);
      if (content !== undefined)
        contents.set(revision, JSON.parse(content.toString('utf8')) as KubeObject[]);
    };
    const inputs: BundlePlanInput[] = [];
    const base = async (name: string) => {
      const current = await this.deployments.desiredRevisions(name);
      for (const rev of current.values()) await load(rev);
      return {
        name,
        existed: known.has(name),
        current,
        clusters: clusterInfo,
        dependencyHolds: new Map<string, string>(),
      };
    };
    for (const bundle of discovery.bundles) {
      const common = await base(bundle.name);
      const strategy = strategyOf(bundle.fleet.rolloutStrategy);
      try {
        const rendered = await renderBundle(bundle, {
          ...ctx,
          rendered: await this.bundles.renderedVariants(bundle.name, commit),
        });
        const variants: CandidateVariant[] = [];
        for (const r of rendered.renders) {
          const v = {
            key: r.variant.key,
            customizations: r.variant.customizations,
            clusters: r.variant.clusters,
          };
          if ('error' in r) {
            variants.push({ ...v, error: r.error });
            continue;
          }
          if (r.objects !== undefined) contents.set(r.revision, r.objects);
          else await load(r.revision);
          variants.push({ ...v, revision: r.revision });
        }
        const dependencyHolds = new Map<string, string>();
        const targeted = rendered.renders.flatMap((r) => r.variant.clusters);
        const unready = await this.deployments.unreadyDependencies(rendered.dependsOn, targeted);
        for (const [cluster, waiting] of unready)
          dependencyHolds.set(
            cluster,
            `waiting for ${waiting.join(', ')} to be Ready on this cluster`,
          );
        inputs.push({
          ...common,
          removed: false,
          error: rendered.error,
          // A bundle none of whose variants renders keeps every cluster as it is.
          variants: rendered.failed ? [] : variants,
          strategy,
          paused: bundle.fleet.paused === true,
          dependencyHolds,
        });
      } catch (err) {
        inputs.push({
          ...common,
          removed: false,
          error: err instanceof Error ? err.message : String(err),
          variants: [],
          strategy,
          paused: bundle.fleet.paused === true,
        });
      }
    }
    const { found, foundDirs, pathErrors: problems, broken } = foundInDiscovery(discovery);
    for (const error of broken) {
      // A bundle whose fleet.yaml is broken keeps its last good revision everywhere.
      inputs.push({
        ...(await base(error.bundle)),
        removed: false,
        error: error.message,
        variants: [],
        strategy: null,
        paused: false,
      });
    }
    const removal = removableBundles({
      paths: repo.paths,
      existing,
      found,
      foundDirs,
      pathErrors: problems,
      commit,
    });
    problems.push(...removal.problems);
    for (const name of removal.remove) {
      const row = existing.find((b) => b.name === name);
      inputs.push({
        ...(await base(name)),
        removed: true,
        error: null,
        variants: [],
        strategy: strategyOf(row?.rolloutStrategy ?? undefined),
        paused: false,
      });
    }
    const { bundles, summary } = planBundles(inputs, contents);
    return {
      gitrepo: repo.name,
      commit,
      deployedCommit: repo.commit,
      problems,
      summary,
      bundles,
    };
  }
}

function strategyOf(raw: unknown): RolloutStrategy | null {
  if (raw === undefined || raw === null) return null;
  const parsed = RolloutStrategySchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
