// Fleet's deployment options of one variant: the fleet.yaml's, with the first matching
// targetCustomization merged over them the way Fleet merges a BundleTarget into a Bundle.
import type { DeploymentOptions } from '../contracts/delivery.js';
import { matchesLabels, selectorFromObject } from '../selectors/index.js';
import type { BundleSource } from './bundle-source.js';
import { chartSource, type HelmChartSource } from './chart-source.js';
import type { FleetYaml, HelmOptions, TargetCustomization } from './fleet-yaml.js';
import { matchesTarget, type ClusterGroups, type ClusterRef, type TargetRef } from './targeting.js';

/** The options a variant renders and deploys with. */
export type EffectiveOptions = Pick<
  FleetYaml,
  | 'defaultNamespace'
  | 'namespace'
  | 'namespaceLabels'
  | 'namespaceAnnotations'
  | 'deleteNamespace'
  | 'kustomize'
  | 'helm'
  | 'serviceAccount'
  | 'yaml'
  | 'diff'
  | 'keepResources'
  | 'ignore'
  | 'correctDrift'
>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Helm-style values merge: objects merge recursively, anything else from `over` replaces. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? mergeValues(current, value) : value;
  }
  return out;
}

function mergeHelm(
  base: HelmOptions | undefined,
  over: HelmOptions | undefined,
): HelmOptions | undefined {
  if (over === undefined) return base;
  if (base === undefined) return over;
  const merged: HelmOptions = { ...base };
  for (const [key, value] of Object.entries(over) as [keyof HelmOptions, unknown][]) {
    if (value === undefined) continue;
    (merged as Record<string, unknown>)[key] = value;
  }
  if (base.values !== undefined && over.values !== undefined) {
    merged.values = mergeValues(base.values, over.values);
  }
  if (base.valuesFiles !== undefined && over.valuesFiles !== undefined) {
    merged.valuesFiles = [...base.valuesFiles, ...over.valuesFiles];
  }
  if (base.valuesFrom !== undefined && over.valuesFrom !== undefined) {
    merged.valuesFrom = [...base.valuesFrom, ...over.valuesFrom];
  }
  return merged;
}

/**
 * The options of clusters whose first matching targetCustomization is `custom` (none:
 * the fleet.yaml's own). As in Fleet, every option the customization sets replaces the
 * fleet.yaml's, except Helm: `helm.values` deep-merge over the fleet.yaml's, `valuesFiles` and
 * `valuesFrom` are appended to its lists, and every other `helm` field set replaces its own.
 */
export function effectiveOptions(
  fleet: FleetYaml,
  custom: TargetCustomization | undefined,
): EffectiveOptions {
  const base: EffectiveOptions = {
    defaultNamespace: fleet.defaultNamespace,
    namespace: fleet.namespace,
    namespaceLabels: fleet.namespaceLabels,
    namespaceAnnotations: fleet.namespaceAnnotations,
    deleteNamespace: fleet.deleteNamespace,
    kustomize: fleet.kustomize,
    helm: fleet.helm,
    serviceAccount: fleet.serviceAccount,
    yaml: fleet.yaml,
    diff: fleet.diff,
    keepResources: fleet.keepResources,
    ignore: fleet.ignore,
    correctDrift: fleet.correctDrift,
  };
  if (custom === undefined) return base;
  const out: EffectiveOptions = { ...base };
  const keys = [
    'defaultNamespace',
    'namespace',
    'namespaceLabels',
    'namespaceAnnotations',
    'deleteNamespace',
    'kustomize',
    'serviceAccount',
    'yaml',
    'diff',
    'keepResources',
    'ignore',
    'correctDrift',
  ] as const;
  for (const key of keys) {
    const value = custom[key];
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  out.helm = mergeHelm(base.helm, custom.helm);
  return out;
}

/**
 * Index of the first targetCustomization that selects the cluster (Fleet: "the first one to
 * match a cluster is used"), or undefined.
 */
export function firstTargetCustomization(
  fleet: FleetYaml,
  cluster: ClusterRef,
  groups: ClusterGroups,
): number | undefined {
  const index = fleet.targetCustomizations.findIndex((c) => matchesTarget(cluster, c, groups));
  return index === -1 ? undefined : index;
}

/** The chart source of a variant's options (a path '' when the bundle has no `helm`). */
export function chartSourceOf(options: EffectiveOptions): HelmChartSource {
  return chartSource(options.helm ?? {});
}

/**
 * What the agent gets of the options (part of the revision id). Fields left undefined are
 * omitted from the id, so bundles that do not use them keep their revision ids.
 */
export function deploymentOptionsOf(
  options: EffectiveOptions,
  fleet: Pick<FleetYaml, 'forceConflicts'>,
): DeploymentOptions {
  const out: DeploymentOptions = {
    defaultNamespace: options.namespace ?? options.defaultNamespace,
    correctDrift: options.correctDrift.enabled,
    keepResources: options.keepResources ?? false,
    forceConflicts: fleet.forceConflicts || options.correctDrift.force,
  };
  if (options.namespaceLabels !== undefined) out.namespaceLabels = options.namespaceLabels;
  if (options.namespaceAnnotations !== undefined) {
    out.namespaceAnnotations = options.namespaceAnnotations;
  }
  if (options.deleteNamespace === true) out.deleteNamespace = true;
  const comparePatches = options.diff?.comparePatches;
  if (comparePatches !== undefined && comparePatches.length > 0) {
    out.comparePatches = comparePatches;
  }
  const conditions = options.ignore?.conditions;
  if (conditions !== undefined && conditions.length > 0) out.ignoreConditions = conditions;
  return out;
}

/**
 * The names of the bundles `bundle` depends on: its `dependsOn` names, and every other bundle
 * of `siblings` (the bundles of the same GitRepo sync) whose fleet.yaml `labels` match a
 * `dependsOn.selector`. Sorted, without duplicates, never the bundle itself.
 */
export function dependencyNames(
  bundle: Pick<BundleSource, 'name' | 'fleet'>,
  siblings: readonly Pick<BundleSource, 'name' | 'fleet'>[],
): string[] {
  const names = new Set<string>();
  for (const ref of bundle.fleet.dependsOn) {
    if (ref.name !== undefined) names.add(ref.name);
    if (ref.selector !== undefined) {
      const reqs = selectorFromObject(ref.selector);
      for (const other of siblings) {
        if (matchesLabels(reqs, other.fleet.labels)) names.add(other.name);
      }
    }
  }
  names.delete(bundle.name);
  return [...names].sort();
}

/**
 * The targets a bundle starts from: the GitRepo's, unless Fleet's `overrideTargets` replace
 * them — a non-empty list, or `true` (Fleet's older form) for the fleet.yaml's own `targets`.
 */
export function targetsOf(
  fleet: Pick<FleetYaml, 'overrideTargets' | 'targets'>,
  repoTargets: readonly TargetRef[],
): readonly TargetRef[] {
  const { overrideTargets } = fleet;
  const overrides: readonly TargetRef[] =
    overrideTargets === true
      ? fleet.targets
      : Array.isArray(overrideTargets)
        ? overrideTargets
        : [];
  return overrides.length > 0 ? overrides : repoTargets;
}
