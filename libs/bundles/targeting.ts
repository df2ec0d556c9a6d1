// Which clusters a bundle goes to: the GitRepo's targets, narrowed by the fleet.yaml's targets.
import {
  matchesLabels,
  selectorFromObject,
  type LabelSelector,
  type Requirement,
} from '../selectors/index.js';

/** The cluster fields targeting looks at. */
export interface ClusterRef {
  name: string;
  labels: Record<string, string>;
}

/** Who a target selects: a label selector, a cluster group, a cluster group selector, a name. */
export interface TargetRef {
  clusterSelector?: LabelSelector;
  clusterGroup?: string;
  /**
   * Fleet's selector over cluster groups' labels. Flotilla's cluster groups carry no labels, so
   * it is evaluated against an empty label set: `{}` (or only `DoesNotExist`/`NotIn`
   * requirements) selects every cluster that is in some group, anything else no cluster.
   */
  clusterGroupSelector?: LabelSelector;
  clusterName?: string;
}

/** Cluster groups by name, each as its normalized selector requirements. */
export type ClusterGroups = Record<string, Requirement[]>;

/** The answer of `isTargeted`: the decision, and problems worth telling the user about. */
export interface TargetingResult {
  targeted: boolean;
  /** E.g. an unknown cluster group; deduplicated. */
  warnings: string[];
}

const compiled = new WeakMap<object, Requirement[]>();

function requirements(selector: LabelSelector): Requirement[] {
  let reqs = compiled.get(selector);
  if (reqs === undefined) {
    reqs = selectorFromObject(selector);
    compiled.set(selector, reqs);
  }
  return reqs;
}

/**
 * Whether one target selects the cluster. Every field given must hold: `clusterSelector` (`{}`
 * selects every cluster), membership of `clusterGroup`, membership of a group matched by
 * `clusterGroupSelector`, `clusterName`. A target without any of them selects nothing; an
 * unknown group selects nothing and adds a warning.
 */
export function matchesTarget(
  cluster: ClusterRef,
  target: TargetRef,
  groups: ClusterGroups,
  warnings: string[] = [],
): boolean {
  const { clusterSelector, clusterGroup, clusterGroupSelector, clusterName } = target;
  if (
    clusterSelector === undefined &&
    clusterGroup === undefined &&
    clusterGroupSelector === undefined &&
    clusterName === undefined
  ) {
    return false;
  }
  if (clusterName !== undefined && clusterName !== cluster.name) return false;
  if (
    clusterSelector !== undefined &&
    !matchesLabels(requirements(clusterSelector), cluster.labels)
  ) {
    return false;
  }
  if (clusterGroup !== undefined) {
    const group = Object.hasOwn(groups, clusterGroup) ? groups[clusterGroup] : undefined;
    if (group === undefined) {
      const warning = `unknown cluster group ${JSON.stringify(clusterGroup)}: its targets match no cluster`;
      if (!warnings.includes(warning)) warnings.push(warning);
      return false;
    }
    if (!matchesLabels(group, cluster.labels)) return false;
  }
  if (clusterGroupSelector !== undefined) {
    // Groups have no labels: the selector matches every group or none.
    if (!matchesLabels(requirements(clusterGroupSelector), {})) return false;
    if (!Object.values(groups).some((group) => matchesLabels(group, cluster.labels))) return false;
  }
  return true;
}

/**
 * Whether a bundle goes to the cluster: the cluster must match one of the GitRepo's targets
 * and, when the fleet.yaml has targets, one of those too. An empty GitRepo target list matches
 * nothing (a GitRepo without targets deploys nowhere, so registering one is never a fleet-wide
 * rollout by accident); an empty fleet.yaml list adds no restriction. Unknown group names match
 * nothing and are reported in `warnings`.
 */
export function isTargeted(
  cluster: ClusterRef,
  repoTargets: readonly TargetRef[],
  bundleTargets: readonly TargetRef[],
  groups: ClusterGroups,
): TargetingResult {
  const warnings: string[] = [];
  // Evaluate every target (no short-circuit) so that all unknown groups are reported.
  const repo = repoTargets.map((t) => matchesTarget(cluster, t, groups, warnings)).some(Boolean);
  const bundle =
    bundleTargets.length === 0 ||
    bundleTargets.map((t) => matchesTarget(cluster, t, groups, warnings)).some(Boolean);
  return { targeted: repo && bundle, warnings };
}
