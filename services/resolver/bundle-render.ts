import { createHash } from 'node:crypto';
import {
  BundleError,
  type BundleSource,
  type ChartPin,
  type ClusterGroups,
  type ClusterRef,
  type FileTree,
  type KubeObject,
  type TargetRef,
  type ValuesSource,
  type Variant,
  dependencyNames,
  deploymentOptionsOf,
  describeVariantFailure,
  effectiveOptions,
  isTargeted,
  normalizeObjects,
  planVariants,
  renderVariant,
  revisionId,
  targetsOf,
  usesValuesFrom,
} from '../../libs/bundles/index.js';
import type { DeploymentOptions } from '../../libs/contracts/index.js';
import {
  chartSourcesOf,
  withChartDependencies,
  type SyncChartFetcher,
} from '../../libs/charts/index.js';
import type { Secret } from '../../libs/secrets/index.js';

/** What rendering a bundle needs besides the bundle: the same for a sync and for a plan. */
export interface RenderContext {
  tree: FileTree;
  /** The GitRepo's targets. */
  repoTargets: TargetRef[];
  clusters: ClusterRef[];
  groups: ClusterGroups;
  /** Every bundle found at the commit (for `dependsOn` by short name). */
  siblings: readonly BundleSource[];
  charts: SyncChartFetcher;
  values: { sources: Secret<ValuesSource[]>; versions: string } | undefined;
  /**
   * The revision a variant was already rendered to at this commit (by render key), if any: a
   * render is reused, never redone.
   */
  rendered: ReadonlyMap<string, string>;
  /** Starts timing one variant's render (a metric); the function it returns ends it. */
  renderTimer?: () => () => void;
}

/** One variant's render: its revision (and objects when rendered now), or why it failed. */
export type VariantRender =
  | {
      variant: Variant;
      renderKey: string;
      revision: string;
      /** The objects, when rendered by this call; undefined for a render reused by key. */
      objects?: KubeObject[];
    }
  | { variant: Variant; renderKey: string; error: string };

/** A bundle rendered as a sync would: its options, dependencies, charts and variants. */
export interface RenderedBundle {
  options: DeploymentOptions;
  dependsOn: string[];
  /** Charts resolved for the bundle (fleet.yaml sources and Chart.yaml dependencies). */
  pins: ChartPin[];
  renders: VariantRender[];
  /** The failures of variants that did not render, described for the bundle's error. */
  error: string | null;
  /** True when no variant rendered (the bundle as a whole failed). */
  failed: boolean;
}

/**
 * Targets, plans and renders the variants of one bundle: the one code path a sync and a plan
 * share. It stores nothing; the caller decides what to keep. Errors other than a variant's
 * render error (a chart that cannot be fetched) are thrown.
 */
export async function renderBundle(
  bundle: BundleSource,
  ctx: RenderContext,
): Promise<RenderedBundle> {
  const options: DeploymentOptions = deploymentOptionsOf(
    effectiveOptions(bundle.fleet, undefined),
    bundle.fleet,
  );
  const repoTargets = targetsOf(bundle.fleet, ctx.repoTargets);
  const bundleTargets = (bundle.fleet.targets ?? []) as TargetRef[];
  const targeted = ctx.clusters.filter(
    (c) => isTargeted(c, repoTargets, bundleTargets, ctx.groups).targeted,
  );
  const variants = planVariants(bundle, targeted, ctx.groups);
  const charts = ctx.charts;
  // Charts from repositories and registries are resolved first (a range to a version, an
  // archive to its digest): a render is reused only for the same charts.
  const pins: ChartPin[] = [];
  for (const source of chartSourcesOf(bundle.fleet)) {
    pins.push(await charts(source, bundle.name));
  }
  // Chart.yaml dependencies from repositories, as `helm dependency build` would fetch them.
  const withDeps = await withChartDependencies(ctx.tree, bundle, charts);
  pins.push(...withDeps.pins);
  const chartsKey =
    pins.length === 0
      ? ''
      : `#charts:${createHash('sha256')
          .update(JSON.stringify(pins.map((p) => [p.from, p.version, p.digest])))
          .digest('hex')
          .slice(0, 16)}`;
  // A bundle using helm.valuesFrom renders anew when a values source changes: the memo key
  // holds the sources' versions (random ids, nothing derived from their data).
  const values = ctx.values;
  const valuesKey =
    values !== undefined && usesValuesFrom(bundle.fleet)
      ? `#values:${createHash('sha256').update(values.versions).digest('hex').slice(0, 16)}`
      : '';
  const renders: VariantRender[] = [];
  for (const variant of variants) {
    const renderKey = `${variant.key}${chartsKey}${valuesKey}`;
    const known = ctx.rendered.get(renderKey);
    if (known !== undefined) {
      renders.push({ variant, renderKey, revision: known });
      continue;
    }
    // The charts this variant was rendered from go into its revision id.
    const used = new Map<string, ChartPin>(withDeps.pins.map((p) => [`${p.from}@${p.digest}`, p]));
    const fetchChart: typeof charts = Object.assign(
      async (...args: Parameters<typeof charts>) => {
        const chart = await charts(...args);
        used.set(`${chart.from}@${chart.digest}`, chart);
        return chart;
      },
      { pinned: charts.pinned },
    );
    let objects: KubeObject[];
    const endRender = ctx.renderTimer?.();
    try {
      objects = normalizeObjects(
        await renderVariant(withDeps.tree, withDeps.bundle, variant, {
          fetchChart,
          valuesSources: values?.sources.reveal(),
        }),
      );
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      renders.push({ variant, renderKey, error: err.message });
      continue;
    }
    endRender?.();
    renders.push({
      variant,
      renderKey,
      revision: revisionId(objects, options, [...used.values()]),
      objects,
    });
  }
  const failures = renders.filter((r) => 'error' in r);
  const error =
    failures.length === 0
      ? null
      : failures
          .map((f) =>
            describeVariantFailure(
              f.variant,
              f.error,
              bundle.fleet.targetCustomizations[f.variant.targetCustomization ?? -1]?.name,
            ),
          )
          .join('\n');
  return {
    options,
    dependsOn: dependencyNames(bundle, ctx.siblings),
    pins,
    renders,
    error,
    failed: failures.length > 0 && failures.length === variants.length,
  };
}
