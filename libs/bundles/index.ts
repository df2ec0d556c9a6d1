// Bundles: finding them in a GitRepo, validating fleet.yaml, targeting clusters, planning
// per-cluster variants, rendering them (plain YAML, Kustomize, Helm) and identifying revisions.

/** Error type for every bundle problem (with `bundle` and `path`). */
export { BundleError } from './errors.js';
/** Where a bundle problem was found. */
export type { BundleErrorContext } from './errors.js';

/** Read-only file trees: the interface, an in-memory one for tests and one over a directory. */
export { DiskTree, MemoryTree, normalizeTreePath } from './file-tree.js';
/** A read-only file tree and its directory entries. */
export type { FileTree, TreeEntry } from './file-tree.js';

/** fleet.yaml: schemas, parsing and validation, durations. */
export {
  CustomizationSchema,
  FleetYamlSchema,
  BUNDLE_WIDE_OPTIONS,
  HelmOptionsSchema,
  PatchSchema,
  RolloutStrategySchema,
  TargetCustomizationSchema,
  TargetSchema,
  parseFleetYaml,
  validateFleetYaml,
} from './fleet-yaml.js';
/** Validated fleet.yaml shapes. */
export type {
  ComparePatch,
  CorrectDrift,
  Customization,
  FleetYaml,
  HelmOptions,
  TargetCustomization,
  Patch,
  PatchOperation,
  RolloutStrategy,
  Target,
} from './fleet-yaml.js';

/** Where a Helm chart comes from (fleet.yaml helm.chart / repo / version, Fleet's meaning). */
export { chartSource, describeChartSource, isChartVersion } from './chart-source.js';
/** A chart source, and the fetcher the hub renders remote charts with. */
export type {
  ChartFetcher,
  ChartFields,
  FetchedChart,
  HelmChartSource,
  RemoteChartSource,
} from './chart-source.js';

/** A variant's Fleet options (targetCustomizations merged), what the agent gets, dependencies. */
export {
  chartSourceOf,
  dependencyNames,
  deploymentOptionsOf,
  effectiveOptions,
  firstTargetCustomization,
  targetsOf,
} from './fleet-options.js';
/** The options a variant renders and deploys with. */
export type { EffectiveOptions } from './fleet-options.js';

/** Fleet's helm.valuesFrom, resolved from the GitRepo's stored values sources. */
export {
  DEFAULT_VALUES_KEY,
  ValuesSourceKind,
  resolveValuesFrom,
  usesValuesFrom,
} from './values-from.js';
export type { ValuesFromRef, ValuesSource, ValuesSources } from './values-from.js';

/** Bundle discovery and the check that fleet.yaml paths stay inside the bundle. */
export { discoverBundles, pathInBundle } from './discover.js';
/** A discovered bundle, its kind, and the result of discovery. */
export type { BundleKind, BundleSource } from './bundle-source.js';
export type { Discovery } from './discover.js';

/**
 * Keeping a render inside its bundle: the Kustomization graph and Helm chart checks run before
 * the tools, and what counts as a remote reference.
 */
export { checkHelmChart, checkKustomization, remoteReason } from './confine.js';

/** Whether a bundle targets a cluster, and whether one target selects it. */
export { isTargeted, matchesTarget } from './targeting.js';
/** Inputs and result of targeting. */
export type { ClusterGroups, ClusterRef, TargetRef, TargetingResult } from './targeting.js';

/** Grouping clusters into variants that render identically; a variant's error. */
export { describeVariantFailure, planVariants } from './variants.js';
/** One variant of a bundle. */
export type { Variant } from './variants.js';

/** `${cluster.name}` / `${cluster.labels.KEY}` references and their substitution. */
export { findReferences, substituteValues } from './substitution.js';

/** Which bundles that left Git a sync may remove (never by accident). */
export { foundInDiscovery, removableBundles } from './removal.js';
/** Inputs of `removableBundles`. */
export type { FoundBundles, KnownBundle, RemovalInput } from './removal.js';

/** Rendering a variant, and its building blocks. */
export {
  FLEET_MANIFESTS,
  KUSTOMIZE_FLAGS,
  applyPatches,
  forceNamespace,
  mergeValues,
  parseManifests,
  releaseName,
  renderVariant,
  toolEnv,
} from './render.js';
/** Tool binaries and limits for rendering. */
export type { RenderTools, RenderVariant } from './render.js';

/** Normalized objects and content-addressed revision ids. */
export { canonicalJson, normalizeObjects, revisionId } from './revision.js';
/** A rendered Kubernetes object, and a fetched chart a revision was rendered from. */
export type { ChartPin, KubeObject } from './revision.js';

/** Locating (or extracting) kubectl and helm. */
export { resolveTool } from './tools.js';
/** The tools bundles are rendered with. */
export type { ToolName } from './tools.js';
