import { Injectable } from '@nestjs/common';
import {
  BundleRepository,
  ClusterRepository,
  DeploymentRepository,
  InvalidInputError,
  NotFoundError,
  type PageRequest,
} from '../../libs/db/index.js';
import { deploymentView, summarize } from './fleet-summary.js';
import { FleetSummaryCache, summaryFrom } from './fleet-summary-cache.js';

/** A bundle's variants at its commit: the revision each renders and the clusters asked to run it. */
export interface VariantView {
  key: string;
  revision: string;
  clusters: string[];
}

/** The objects of one revision of a bundle, for one cluster or one variant. */
export interface ManifestsView {
  bundle: string;
  /** The cluster asked for (absent when asked by variant). */
  cluster?: string;
  /** The variant asked for (absent when asked by cluster). */
  variant?: string;
  /** The commit the revision was rendered from. */
  commit: string | null;
  /** The revision shown: what Git asks that cluster (or variant) to run. */
  revision: string;
  /** What the cluster is told now (differs from `revision` while a rollout holds it back). */
  desiredRevision?: string | null;
  /** What the cluster reports it applied. */
  appliedRevision?: string | null;
  /** Clusters of the variant (asked by variant). */
  clusters?: string[];
  /** The rendered Kubernetes objects, as the agent receives them. */
  objects: unknown[];
}

/** Bundles as the API shows them: their variants and what each cluster gets. */
@Injectable()
export class BundlesService {
  constructor(
    private readonly bundles: BundleRepository,
    private readonly deployments: DeploymentRepository,
    private readonly clusters: ClusterRepository,
    private readonly summaries: FleetSummaryCache,
  ) {}

  /**
   * One page of bundles (of one GitRepo), each with its deployments counted by state (from the
   * summary cache: the fleet's counts, at most a second old; `summary.computedAt` says when).
   */
  async list(page: PageRequest, gitrepo?: string) {
    const [found, counts] = await Promise.all([
      this.bundles.list(page, gitrepo),
      this.summaries.fleetCounts(),
    ]);
    return {
      ...found,
      items: found.items.map((b) => ({
        name: b.name,
        gitrepo: b.gitrepo,
        kind: b.kind,
        commit: b.commit,
        error: b.error,
        summary: summaryFrom(counts.value, [b.name], counts.computedAt),
      })),
    };
  }

  /** A bundle with its revisions, variants and per-cluster deployments. */
  async get(name: string) {
    const b = await this.bundles.get(name);
    // The view shows no deployment's resources: they stay in PostgreSQL.
    const rows = await this.deployments.list({ bundles: [name], resources: false });
    const deployments = rows.map(deploymentView);
    const s = summarize(rows);
    return {
      name: b.name,
      gitrepo: b.gitrepo,
      dir: b.dir,
      kind: b.kind,
      commit: b.commit,
      error: b.error,
      errorCommit: b.errorCommit,
      options: b.options,
      dependsOn: b.dependsOn,
      rolloutStrategy: b.rolloutStrategy,
      // Charts fetched from repositories and registries: the exact versions deployed.
      charts: b.charts,
      // What Git asks for and what clusters were told (they differ while a rollout runs).
      revisions: [
        ...new Set(
          rows
            .flatMap((r) => [r.targetRevision, r.desiredRevision])
            .filter((r): r is string => r !== null),
        ),
      ].sort(),
      summary: { desired: s.total, ready: s.byState.Ready ?? 0, byState: s.byState },
      variants: await this.variants(b.name, b.commit),
      deployments: deployments.map((d) => ({
        cluster: d.cluster,
        state: d.state,
        message: d.message,
        commit: d.commit,
        desiredRevision: d.desiredRevision,
        appliedRevision: d.appliedRevision,
        reportedAt: d.reportedAt,
      })),
    };
  }

  /** The variants rendered at the bundle's commit, with the clusters Git asks to run each. */
  async variants(name: string, commit: string | null): Promise<VariantView[]> {
    if (commit === null) return [];
    const [variants, targets] = await Promise.all([
      this.bundles.variantsAt(name, commit),
      this.deployments.targetsOf(name),
    ]);
    // A target names the variant its cluster falls in: variants that render the same revision
    // (customizations that change nothing) each list only their own clusters. A target written
    // before variants were recorded goes to the first variant of its revision, never to several.
    const firstOfRevision = new Map<string, string>();
    for (const v of variants)
      if (!firstOfRevision.has(v.revision)) firstOfRevision.set(v.revision, v.key);
    return variants.map((v) => ({
      key: v.key,
      revision: v.revision,
      clusters: targets
        .filter(
          (t) =>
            t.commit === commit &&
            t.revision === v.revision &&
            (t.variantKey ?? firstOfRevision.get(t.revision)) === v.key,
        )
        .map((t) => t.cluster),
    }));
  }

  /**
   * The rendered objects a cluster gets of a bundle (`cluster`), or a variant renders
   * (`variant`, a key from the bundle's `variants`); exactly one must be given.
   */
  async manifests(name: string, query: { cluster?: string; variant?: string }) {
    const { cluster, variant } = query;
    if ((cluster === undefined) === (variant === undefined)) {
      throw new InvalidInputError('give exactly one of ?cluster=NAME or ?variant=KEY');
    }
    if (cluster === '' || variant === '') {
      throw new InvalidInputError(`${cluster === '' ? 'cluster' : 'variant'} must not be empty`);
    }
    const bundle = await this.bundles.get(name);
    let view: Omit<ManifestsView, 'objects'>;
    if (cluster !== undefined) {
      await this.clusters.get(cluster);
      const [row] = await this.deployments.list({ cluster, bundles: [name] });
      const revision = row?.targetRevision ?? row?.desiredRevision ?? null;
      if (row === undefined || revision === null) {
        throw new NotFoundError(`bundle "${name}" is not deployed to cluster "${cluster}"`);
      }
      view = {
        bundle: name,
        cluster,
        commit: row.targetRevision !== null ? row.targetCommit : row.desiredCommit,
        revision,
        desiredRevision: row.desiredRevision,
        appliedRevision: row.appliedRevision,
      };
    } else {
      const variants = await this.variants(name, bundle.commit);
      const found = variants.find((v) => v.key === variant);
      if (found === undefined) {
        const known = variants.map((v) => v.key).join(', ');
        throw new NotFoundError(
          `bundle "${name}" has no variant "${variant}" at its commit${known ? ` (variants: ${known})` : ''}`,
        );
      }
      view = {
        bundle: name,
        variant: found.key,
        commit: bundle.commit,
        revision: found.revision,
        clusters: found.clusters,
      };
    }
    const content = await this.bundles.revisionContent(view.revision);
    if (content === undefined) {
      throw new NotFoundError(`revision ${view.revision} of bundle "${name}" is not stored`);
    }
    return { ...view, objects: JSON.parse(content.toString('utf8')) as unknown[] };
  }
}
