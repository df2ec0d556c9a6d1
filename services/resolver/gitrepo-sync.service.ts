import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  type BundleSource,
  type ClusterGroups,
  type ClusterRef,
  type Discovery,
  type TargetRef,
  discoverBundles,
  foundInDiscovery,
  removableBundles,
  usesValuesFrom,
} from '../../libs/bundles/index.js';
import {
  type BundleEvent,
  BundleEventType,
  type SyncAnnouncedEvent,
  SyncEventType,
  ClusterEventSchema,
  type GitRepoEvent,
  GitRepoEventSchema,
  GitRepoEventType,
  GroupEventSchema,
  type Subjects,
  changesTargeting,
} from '../../libs/contracts/index.js';
import {
  BundleRepository,
  ClusterGroupRepository,
  ClusterRepository,
  DeploymentRepository,
  type GitRepo,
  GitRepoRepository,
  NotFoundError,
  type TargetRow,
} from '../../libs/db/index.js';
import { HelmChartFetcher } from '../../libs/charts/index.js';
import { GitSource } from '../../libs/git/index.js';
import { parseJson, publishJson } from '../../libs/nats/index.js';
import { selectorFromObject } from '../../libs/selectors/index.js';
import { type RenderContext, renderBundle } from './bundle-render.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { HUB_CONFIG, METRICS_REGISTRY, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

const QUEUE = 'flotilla-resolver';
/** Cluster and group changes within this window cause one re-resolution. */
const RETARGET_DEBOUNCE_MS = 150;
/** A failed clearing of deleted bundles' targets is tried again after this long. */
const ORPHANS_RETRY_MS = 1000;
/** How soon a sync is tried again when another replica held the GitRepo's sync lock. */
const LOCKED_RETRY_MS = 1000;
/** Bundles of one commit resolved at once. */
const RESOLVE_CONCURRENCY = 4;

/** Why a sync runs: a new commit may exist (poll, webhook, request) or only targeting changed. */
type SyncReason = 'poll' | 'request' | 'retarget';

/** How a sync ended: what its status records. */
type SyncOutcome =
  /** Resolved at `commit`; `error` holds the GitRepo's own problems (bundles keep theirs). */
  | { kind: 'synced'; commit: string; generation: number; error: string | null }
  /** Nothing was resolved: the fetch or the resolution failed. */
  | { kind: 'failed'; error: string }
  /** A poll found nothing new. */
  | { kind: 'polled' }
  /** Nothing to do: a retarget of a GitRepo that never synced, or no commit to sync to. */
  | { kind: 'skipped' };

/**
 * The resolver: follows each GitRepo (polling and webhooks), finds its bundles, renders each
 * bundle once per variant, stores the content by its id, and records which revision every
 * targeted cluster should run. A broken bundle keeps its last good state and gets an error;
 * the others go on. One replica syncs a repo at a time (PostgreSQL advisory lock).
 */
@Injectable()
export class GitRepoSyncService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Resolver');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Map<string, SyncReason>();
  private readonly sources = new Map<string, { key: string; source: GitSource }>();
  private readonly subs: Subscription[] = [];
  private retargetTimer: NodeJS.Timeout | undefined;
  private orphansTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Fetches charts from Helm repositories and registries into `<dataDir>/helm-charts`. */
  private readonly charts: HelmChartFetcher;
  /**
   * GitRepos with Helm bundles, which may use charts from repositories or registries: polled
   * even when the commit is unchanged, since a version range may resolve to a new version.
   */
  private readonly followsCharts = new Set<string>();
  private readonly renders: Counter;
  private readonly syncs: Counter;
  private readonly syncDuration: Histogram;
  private readonly renderDuration: Histogram;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly repos: GitRepoRepository,
    private readonly bundles: BundleRepository,
    private readonly groups: ClusterGroupRepository,
    private readonly clusters: ClusterRepository,
    private readonly deployments: DeploymentRepository,
  ) {
    this.renders = new Counter({
      name: 'flotilla_bundle_renders_total',
      help: 'Bundle variants rendered',
      registers: [registry],
    });
    this.charts = new HelmChartFetcher({ cacheDir: join(config.dataDir, 'helm-charts') });
    this.syncs = new Counter({
      name: 'flotilla_gitrepo_syncs_total',
      help: 'GitRepo syncs by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.syncDuration = new Histogram({
      name: 'flotilla_gitrepo_sync_duration_seconds',
      help: 'Time one GitRepo sync took (fetch, render, targets), by outcome',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    this.renderDuration = new Histogram({
      name: 'flotilla_bundle_render_duration_seconds',
      help: 'Time rendering one bundle variant took (plain YAML, Kustomize or Helm)',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subs.push(
      this.nc.subscribe(this.subjects.allEvents('gitrepo'), {
        queue: QUEUE,
        callback: (_e, msg) => {
          const parsed = GitRepoEventSchema.safeParse(parseJson(msg.data));
          if (!parsed.success) return;
          const event = parsed.data;
          switch (event.type) {
            case GitRepoEventType.Deleted:
              void this.forget(event.gitrepo);
              return;
            case GitRepoEventType.Changed:
            case GitRepoEventType.SyncRequested:
              this.trigger(event.gitrepo, 'request');
              return;
            case GitRepoEventType.Synced:
            case GitRepoEventType.SyncFailed:
              return; // the resolver's own
          }
        },
      }),
      // Targeting depends on the clusters that exist, their labels and the groups, never on
      // liveness: a cluster going Online or Offline re-resolves nothing.
      this.nc.subscribe(this.subjects.allEvents('cluster'), {
        queue: QUEUE,
        callback: (_e, msg) => {
          const event = ClusterEventSchema.safeParse(parseJson(msg.data));
          if (event.success && changesTargeting(event.data.type)) this.retargetSoon();
        },
      }),
      this.nc.subscribe(this.subjects.allEvents('group'), {
        queue: QUEUE,
        callback: (_e, msg) => {
          if (GroupEventSchema.safeParse(parseJson(msg.data)).success) this.retargetSoon();
        },
      }),
    );
    await this.cleanOrphans();
    for (const repo of await this.repos.all()) this.trigger(repo.name, 'request');
  }

  /** Runs a sync of `name` now, or right after the one in progress. */
  trigger(name: string, reason: SyncReason): void {
    if (this.stopped) return;
    if (this.running.has(name)) {
      // A request or poll wins over a retarget: it also fetches.
      if (this.again.get(name) !== 'request')
        this.again.set(name, reason === 'retarget' ? (this.again.get(name) ?? reason) : reason);
      return;
    }
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
    const run = this.sync(name, reason)
      .catch((err: unknown) => this.logger.error(`sync of ${name}: ${String(err)}`))
      .finally(() => {
        this.running.delete(name);
        const next = this.again.get(name);
        this.again.delete(name);
        if (next) this.trigger(name, next);
      });
    this.running.set(name, run);
  }

  /** Resolves once no sync runs (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  private retargetSoon(): void {
    if (this.retargetTimer) return;
    this.retargetTimer = setTimeout(() => {
      this.retargetTimer = undefined;
      void this.repos.all().then(
        (repos) => repos.forEach((r) => this.trigger(r.name, 'retarget')),
        (err: unknown) => this.logger.error(`retargeting: ${String(err)}`),
      );
    }, RETARGET_DEBOUNCE_MS);
  }

  private async sync(name: string, reason: SyncReason): Promise<void> {
    if (await this.repos.whileSyncLocked(name, () => this.syncLocked(name, reason))) return;
    // Another replica is syncing it. Its sync may have fetched before what this one was asked
    // for (a commit pushed, a cluster registered meanwhile), so this one runs once that ends;
    // the timer also keeps this replica's poll going (trigger cleared it).
    if (this.stopped || this.timers.has(name)) return;
    const timer = setTimeout(() => {
      this.timers.delete(name);
      this.trigger(name, reason);
    }, LOCKED_RETRY_MS);
    timer.unref();
    this.timers.set(name, timer);
  }

  /**
   * Syncs `name`, then records how it went, whatever happened (Flux's `defer finalizeStatus`):
   * an error anywhere on the way — the fetch, a bundle whose state cannot be written, the
   * database — shows on the GitRepo and in a `SyncFailed` event, never only in the log.
   */
  private async syncLocked(name: string, reason: SyncReason): Promise<void> {
    const endTimer = this.syncDuration.startTimer();
    let repo: GitRepo | undefined;
    let outcome: SyncOutcome;
    try {
      repo = await this.repos.get(name);
      outcome = await this.syncRepo(repo, reason);
    } catch (err) {
      if (repo === undefined && err instanceof NotFoundError) return; // deleted meanwhile
      // A URL this hub refuses (a file:// URL outside FLOTILLA_FILE_URL_ROOT), a fetch that
      // failed, secrets that cannot be decrypted, PostgreSQL gone for a moment.
      outcome = { kind: 'failed', error: err instanceof Error ? err.message : String(err) };
    } finally {
      if (repo !== undefined) this.schedulePoll(repo);
    }
    await this.finalizeStatus(name, repo?.error ?? null, outcome);
    if (outcome.kind !== 'skipped') {
      const failed =
        outcome.kind === 'failed' || (outcome.kind === 'synced' && outcome.error !== null);
      endTimer({ outcome: failed ? 'error' : 'ok' });
    }
  }

  /** One sync of `repo`: fetches unless only targeting changed, then resolves if needed. */
  private async syncRepo(repo: GitRepo, reason: SyncReason): Promise<SyncOutcome> {
    // A GitRepo that never synced targets nothing yet: its own poll or request fetches it.
    if (reason === 'retarget' && repo.commit === null) return { kind: 'skipped' };
    const commit =
      reason === 'retarget'
        ? repo.commit
        : await this.sourceFor(repo).resolve(
            repo.revision ? { revision: repo.revision } : { branch: repo.branch ?? 'main' },
          );
    if (commit === null) return { kind: 'skipped' };
    const changed = commit !== repo.commit || repo.generation !== repo.syncedGeneration;
    if (
      reason === 'poll' &&
      !changed &&
      repo.error === null &&
      !this.followsCharts.has(repo.name)
    ) {
      return { kind: 'polled' };
    }
    const problems = await this.resolveAt(repo, commit);
    return {
      kind: 'synced',
      commit,
      generation: repo.generation,
      error: problems.length > 0 ? problems.join('\n') : null,
    };
  }

  /** Writes a sync's outcome on the GitRepo, counts it, and announces it. */
  private async finalizeStatus(
    name: string,
    previousError: string | null,
    outcome: SyncOutcome,
  ): Promise<void> {
    switch (outcome.kind) {
      case 'skipped':
        return;
      case 'polled':
        await this.repos.recordPolled(name);
        return;
      case 'synced': {
        const { commit, generation, error } = outcome;
        if (error !== null && error !== previousError)
          this.logger.warn(`gitrepo ${name}: ${error}`);
        await this.repos.recordSynced(name, commit, generation, error);
        this.syncs.inc({ outcome: error === null ? 'ok' : 'error' });
        const event: GitRepoEvent = {
          type: GitRepoEventType.Synced,
          gitrepo: name,
          commit,
          ...(error === null ? {} : { error }),
        };
        publishJson(this.nc, this.subjects.event('gitrepo', name), event);
        return;
      }
      case 'failed': {
        const { error } = outcome;
        if (error !== previousError) this.logger.warn(`gitrepo ${name}: ${error}`);
        await this.repos.recordError(name, error);
        this.syncs.inc({ outcome: 'error' });
        const event: GitRepoEvent = { type: GitRepoEventType.SyncFailed, gitrepo: name, error };
        publishJson(this.nc, this.subjects.event('gitrepo', name), event);
        return;
      }
    }
  }

  private schedulePoll(repo: GitRepo): void {
    if (this.stopped || repo.pollingIntervalMs <= 0) return;
    const existing = this.timers.get(repo.name);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(repo.name);
      this.trigger(repo.name, 'poll');
    }, repo.pollingIntervalMs);
    timer.unref();
    this.timers.set(repo.name, timer);
  }

  /** The Git source of `repo`, kept while its URL and credentials stay the same. */
  sourceFor(repo: GitRepo): GitSource {
    const credentials = repo.credentials?.reveal();
    // A new source when the URL or credentials change; the key holds a hash, not the secret.
    const key = createHash('sha256')
      .update(JSON.stringify([repo.url, credentials ?? null]))
      .digest('hex');
    const cached = this.sources.get(repo.name);
    if (cached?.key === key) return cached.source;
    const source = new GitSource({
      url: repo.url,
      cacheDir: join(
        this.config.dataDir,
        'git',
        createHash('sha256').update(repo.url).digest('hex').slice(0, 16),
      ),
      auth: credentials,
      allowFileUrls: this.config.fileUrlRoot !== undefined,
      fileUrlRoot: this.config.fileUrlRoot,
      maxFetchBytes: this.config.gitMaxBytes,
    });
    this.sources.set(repo.name, { key, source });
    return source;
  }

  /**
   * What rendering `repo` at `commit` needs, read as a sync reads it: the discovered bundles,
   * clusters, groups, one chart fetcher and the values sources. Plans use it too.
   */
  async renderInputs(
    repo: GitRepo,
    commit: string,
  ): Promise<{ discovery: Discovery; ctx: Omit<RenderContext, 'rendered'> }> {
    const tree = this.sourceFor(repo).tree(commit);
    const discovery = await discoverBundles(tree, repo.name, repo.paths);
    const [clusters, groups] = await Promise.all([this.clusterRefs(), this.groupRequirements()]);
    // One fetcher per sync: a repository's index is read once, so every bundle of the sync
    // resolves a version range the same way.
    const charts = this.charts.forSync({
      credentials: repo.helmCredentials?.reveal() ?? {},
      allowHttp: repo.helmAllowHttp,
    });
    // The values sources helm.valuesFrom refers to, read once per sync when a bundle uses them.
    const values = discovery.bundles.some((b) => usesValuesFrom(b.fleet))
      ? await this.repos.openValuesSources(repo.name)
      : undefined;
    return {
      discovery,
      ctx: {
        tree,
        repoTargets: repo.targets as TargetRef[],
        clusters,
        groups,
        siblings: discovery.bundles,
        charts,
        values,
      },
    };
  }

  /**
   * Finds, renders and targets every bundle of `repo` at `commit`; returns the problems of the
   * GitRepo itself (empty when none). Bundles that left Git are removed, unless that looks like
   * an accident (see `removableBundles`): then they are kept and the reason is one of the problems.
   */
  private async resolveAt(repo: GitRepo, commit: string): Promise<string[]> {
    const { discovery, ctx } = await this.renderInputs(repo, commit);
    // Helm bundles may use charts (or Chart.yaml dependencies) from repositories, whose ranges
    // may resolve anew at the same commit.
    if (discovery.bundles.some((b) => b.kind === 'helm')) {
      this.followsCharts.add(repo.name);
    } else {
      this.followsCharts.delete(repo.name);
    }
    // Each bundle is announced to delivery as soon as its targets are written, so its delivery
    // pass runs while the next bundles resolve; the announcements carry the sync's id, and the
    // last event of the sync lists them (SyncAnnounced): delivery sends what the passes wrote
    // then, so a commit's bundles reach each agent in one desired-state message.
    const sync = randomUUID();
    const announced: string[] = [];
    const announce = (name: string) => {
      announced.push(name);
      this.announceTargets(name, sync);
    };
    try {
      return await this.resolveBundles(repo, commit, discovery, ctx, announce);
    } finally {
      if (announced.length > 0) this.announceSync(repo.name, sync, announced);
    }
  }

  /** Resolves the bundles found at `commit` and removes those that left; `announce` tells delivery. */
  private async resolveBundles(
    repo: GitRepo,
    commit: string,
    discovery: Discovery,
    ctx: Omit<RenderContext, 'rendered'>,
    announce: (bundle: string) => void,
  ): Promise<string[]> {
    // A few bundles at a time: rendering runs kustomize and helm, and PostgreSQL works on
    // several bundles' targets at once.
    const queue = [...discovery.bundles];
    const worker = async (): Promise<void> => {
      for (let bundle = queue.shift(); bundle !== undefined; bundle = queue.shift()) {
        if (await this.resolveBundle(repo, commit, bundle, ctx)) announce(bundle.name);
      }
    };
    const workers = Array.from({ length: RESOLVE_CONCURRENCY }, () => worker());
    const failed = (await Promise.allSettled(workers)).find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const { found, foundDirs, pathErrors, broken } = foundInDiscovery(discovery);
    for (const error of broken) {
      // A bundle whose fleet.yaml is broken keeps its last good revision everywhere.
      await this.bundles.recordError(
        error.bundle,
        repo.name,
        error.dir ?? error.path ?? '',
        error.kind ?? 'yaml',
        error.message,
        commit,
      );
    }
    const existing = await this.bundles.ofRepo(repo.name);
    const { remove, problems } = removableBundles({
      paths: repo.paths,
      existing,
      found,
      foundDirs,
      pathErrors,
      commit,
    });
    if (remove.length > 0) {
      await this.deployments.clearTargets(remove);
      await this.bundles.deleteMany(remove);
      for (const bundle of remove) announce(bundle);
    }
    return problems;
  }

  private async resolveBundle(
    repo: GitRepo,
    commit: string,
    bundle: BundleSource,
    ctx: Omit<RenderContext, 'rendered'>,
  ): Promise<boolean> {
    try {
      const rendered = await renderBundle(bundle, {
        ...ctx,
        rendered: await this.bundles.renderedVariants(bundle.name, commit),
        renderTimer: () => this.renderDuration.startTimer(),
      });
      if (rendered.failed) throw new Error(rendered.error ?? 'no variant rendered');
      const targets: TargetRow[] = [];
      // A variant that fails to render holds back only its own clusters: they keep what they
      // run, the bundle's other variants move on, and the error names the variant.
      const held = new Set<string>();
      for (const r of rendered.renders) {
        if ('error' in r) {
          for (const cluster of r.variant.clusters) held.add(cluster);
          continue;
        }
        if (r.objects !== undefined) {
          this.renders.inc();
          await this.bundles.storeRevision(
            r.revision,
            Buffer.from(JSON.stringify(r.objects), 'utf8'),
          );
          await this.bundles.recordRender(bundle.name, commit, r.renderKey, r.revision);
        }
        for (const cluster of r.variant.clusters)
          targets.push({ cluster, revision: r.revision, commit, variantKey: r.renderKey });
      }
      const { error, options, pins } = rendered;
      if (error !== null) {
        this.logger.warn(`bundle ${bundle.name} at ${commit.slice(0, 8)}: ${error}`);
        const current = await this.deployments.targetsOf(bundle.name);
        targets.push(...current.filter((t) => held.has(t.cluster)));
      }
      await this.bundles.save({
        name: bundle.name,
        gitrepo: repo.name,
        dir: bundle.dir,
        kind: bundle.kind,
        commit,
        // `paused` is the hub's (delivery holds every cluster), never the agent's.
        options: bundle.fleet.paused ? { ...options, paused: true } : options,
        rolloutStrategy:
          (bundle.fleet.rolloutStrategy as Record<string, unknown> | undefined) ?? null,
        dependsOn: rendered.dependsOn.map((name) => ({ name })),
        error,
        errorCommit: error === null ? null : commit,
      });
      await this.bundles.recordCharts(
        bundle.name,
        pins.map(({ from, name, version, digest }) => ({ from, name, version, digest })),
      );
      await this.deployments.replaceTargets(bundle.name, targets);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger.warn(`bundle ${bundle.name} at ${commit.slice(0, 8)}: ${message}`);
      await this.bundles.recordError(
        bundle.name,
        repo.name,
        bundle.dir,
        bundle.kind,
        message,
        commit,
      );
      return false;
    }
  }

  private announceTargets(bundle: string, sync?: string): void {
    // Bundle names may hold characters a subject token may not; the payload has the real name.
    const event: BundleEvent = {
      type: BundleEventType.TargetsChanged,
      bundle,
      ...(sync === undefined ? {} : { sync }),
    };
    publishJson(this.nc, this.subjects.event('bundle', subjectToken(bundle)), event);
  }

  /** The sync `sync` announced every bundle it changed (after their TargetsChanged events). */
  private announceSync(gitrepo: string, sync: string, bundles: string[]): void {
    const event: SyncAnnouncedEvent = {
      type: SyncEventType.SyncAnnounced,
      sync,
      gitrepo,
      bundles,
    };
    publishJson(this.nc, this.subjects.event('sync', subjectToken(gitrepo)), event);
  }

  private async clusterRefs(): Promise<ClusterRef[]> {
    return this.clusters.refs();
  }

  private async groupRequirements(): Promise<ClusterGroups> {
    const groups: ClusterGroups = {};
    let after: string | undefined;
    for (;;) {
      const page = await this.groups.list({ limit: 1000, after });
      for (const g of page.items) groups[g.name] = selectorFromObject(g.selector);
      if (!page.continue) return groups;
      after = page.items[page.items.length - 1]?.name;
    }
  }

  /** A deleted GitRepo: its bundles (cascade-deleted) leave every cluster. */
  private async forget(name: string): Promise<void> {
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
    this.sources.delete(name);
    this.followsCharts.delete(name);
    await this.running.get(name);
    await this.cleanOrphansOrRetry();
  }

  /**
   * Clears the targets of deleted bundles; when that fails (PostgreSQL gone for a moment), logs
   * it and tries again later: nothing else would, until the next deletion or restart.
   */
  private async cleanOrphansOrRetry(): Promise<void> {
    try {
      await this.cleanOrphans();
    } catch (err) {
      this.logger.error(`clearing the targets of deleted bundles: ${String(err)}`);
      if (this.stopped || this.orphansTimer) return;
      this.orphansTimer = setTimeout(() => {
        this.orphansTimer = undefined;
        if (!this.stopped) void this.cleanOrphansOrRetry();
      }, ORPHANS_RETRY_MS);
      this.orphansTimer.unref();
    }
  }

  /** Targets of bundles that no longer exist are cleared, so delivery removes them. */
  private async cleanOrphans(): Promise<void> {
    const orphans = await this.deployments.orphanedTargetBundles();
    await this.deployments.clearTargets(orphans);
    for (const bundle of orphans) this.announceTargets(bundle);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const s of this.subs) s.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    if (this.retargetTimer) clearTimeout(this.retargetTimer);
    if (this.orphansTimer) clearTimeout(this.orphansTimer);
    await this.idle();
  }
}

/** A name as a subject token: the characters a token may not hold replaced. */
function subjectToken(name: string): string {
  return name.replace(/[.*>\s]/g, '_');
}
