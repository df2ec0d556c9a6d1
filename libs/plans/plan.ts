import type { KubeObject, RolloutStrategy } from '../bundles/index.js';
import { assignStages } from '../rollouts/index.js';
import type { ClusterObservation } from '../rollouts/index.js';
import {
  type ChangedObject,
  type ObjectId,
  diffObjects,
  objectKeyOf,
  MAX_OBJECT_DIFF_CHARS,
} from './object-diff.js';

/** How a bundle changes in a plan. */
export const BundleChange = {
  Unchanged: 'unchanged',
  Changed: 'changed',
  Added: 'added',
  Removed: 'removed',
} as const;
export type BundleChange = (typeof BundleChange)[keyof typeof BundleChange];

/** One variant of a bundle at the candidate commit, as rendered. */
export interface CandidateVariant {
  key: string;
  /** Names of the customizations that apply. */
  customizations: string[];
  clusters: string[];
  /** The revision it renders to; absent when it failed to render. */
  revision?: string;
  /** The render error, as a sync would record it. */
  error?: string;
}

/** What the plan of one bundle is computed from. */
export interface BundlePlanInput {
  name: string;
  /** Whether the hub knows the bundle now (a bundle it does not know is added). */
  existed: boolean;
  /** The bundle left Git and a sync would remove it from every cluster. */
  removed: boolean;
  /** The bundle's error as a sync would record it (fleet.yaml, every variant failing, ...). */
  error: string | null;
  /** The candidate's variants (empty for a removed bundle or one that failed as a whole). */
  variants: CandidateVariant[];
  /** What each cluster is told to run now (desired revision; null while being removed). */
  current: ReadonlyMap<string, string | null>;
  strategy: RolloutStrategy | null;
  paused: boolean;
  /** Clusters `dependsOn` would hold back, with why. */
  dependencyHolds: ReadonlyMap<string, string>;
  /** Labels and groups of clusters, for stage matching. */
  clusters: ReadonlyMap<string, { labels: Record<string, string>; groups: string[] }>;
}

/** Limits that keep a plan's size bounded. */
export interface PlanLimits {
  /** Cluster names listed per list; the counts are always complete. */
  maxNames: number;
  /** Objects listed per list (added, removed, changed). */
  maxObjects: number;
  /** Characters of unified diff kept in the whole plan; later diffs become null. */
  maxDiffChars: number;
  /** Characters of unified diff kept per object. */
  maxObjectDiffChars: number;
}

export const DEFAULT_PLAN_LIMITS: PlanLimits = {
  maxNames: 200,
  maxObjects: 500,
  maxDiffChars: 512 * 1024,
  maxObjectDiffChars: MAX_OBJECT_DIFF_CHARS,
};

/** Counts of object changes. */
export interface ObjectCounts {
  added: number;
  changed: number;
  removed: number;
}

/** The clusters of a variant that now run one revision (or nothing), and what they would get. */
export interface PlanChange {
  /** What these clusters are told to run now; null when they run nothing of the bundle. */
  fromRevision: string | null;
  /** What they would run; null when the bundle leaves them. */
  toRevision: string | null;
  clusters: string[];
  clusterCount: number;
  counts: ObjectCounts & { unchanged: number };
  added: ObjectId[];
  removed: ObjectId[];
  changed: ChangedObject[];
}

/** One variant of a changed bundle. */
export interface PlanVariant {
  key: string;
  customizations: string[];
  revision: string | null;
  error?: string;
  clusters: string[];
  clusterCount: number;
  /** One entry per revision its clusters run now, when it differs from the candidate's. */
  changes: PlanChange[];
}

/** One stage of the bundle's rollout and what it would touch. */
export interface PlanStage {
  name: string;
  clusters: string[];
  clusterCount: number;
  /** Object changes over the stage's clusters (an object changed on 3 clusters counts 3). */
  objectChanges: number;
}

/** A cluster that would not get the change now, and why. */
export interface HeldCluster {
  cluster: string;
  reason: string;
}

/** The plan of one bundle. */
export interface BundlePlan {
  name: string;
  change: BundleChange;
  error?: string;
  variants: PlanVariant[];
  /** Clusters the bundle would leave (no longer targeted, or the bundle removed). */
  leaving: PlanChange[];
  blastRadius: {
    clusters: number;
    objects: ObjectCounts;
    stages: PlanStage[];
    held: HeldCluster[];
    heldCount: number;
  };
}

/** The fleet-wide summary of a plan. */
export interface PlanSummary {
  bundles: Record<BundleChange, number> & { errors: number };
  objects: ObjectCounts;
  clusters: number;
  stages: number;
  /** True when a list or diff was cut by the size limits (every count stays complete). */
  truncated: boolean;
  /** `+3 ~12 -1 objects on 240 clusters in 3 stages`. */
  text: string;
}

/** Revision contents, by revision id. */
export type Contents = ReadonlyMap<string, readonly KubeObject[]>;

/** Byte-wise order, independent of locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function capList<T>(items: T[], max: number, cut: { truncated: boolean }): T[] {
  if (items.length <= max) return items;
  cut.truncated = true;
  return items.slice(0, max);
}

/** Shares one diff budget over a whole plan. */
class Budget {
  truncated = false;
  constructor(
    private left: number,
    readonly limits: PlanLimits,
  ) {}

  keep(changed: ChangedObject[]): ChangedObject[] {
    return changed.map((c) => {
      if (c.diff === null) return c;
      if (c.diff.length > this.left) {
        this.truncated = true;
        return { ...c, diff: null };
      }
      this.left -= c.diff.length;
      return c;
    });
  }
}

function planChange(
  from: string | null,
  to: string | null,
  clusters: string[],
  contents: Contents,
  budget: Budget,
): PlanChange {
  const before = from === null ? [] : (contents.get(from) ?? []);
  const after = to === null ? [] : (contents.get(to) ?? []);
  const d = diffObjects(before, after, budget.limits.maxObjectDiffChars);
  const max = budget.limits.maxObjects;
  return {
    fromRevision: from,
    toRevision: to,
    clusters: capList([...clusters], budget.limits.maxNames, budget),
    clusterCount: clusters.length,
    counts: {
      added: d.added.length,
      changed: d.changed.length,
      removed: d.removed.length,
      unchanged: d.unchanged,
    },
    added: capList(d.added, max, budget),
    removed: capList(d.removed, max, budget),
    changed: budget.keep(capList(d.changed, max, budget)),
  };
}

/** Groups `clusters` by what they run now, in a stable order (nothing first). */
function byCurrent(
  clusters: readonly string[],
  current: ReadonlyMap<string, string | null>,
): [string | null, string[]][] {
  const groups = new Map<string | null, string[]>();
  for (const c of clusters) {
    const from = current.get(c) ?? null;
    groups.set(from, [...(groups.get(from) ?? []), c]);
  }
  return [...groups.entries()].sort(([a], [b]) =>
    a === null ? -1 : b === null ? 1 : compareNames(a, b),
  );
}

function distinctCounts(changes: PlanChange[], contents: Contents): ObjectCounts {
  // An object counts once per bundle and kind of change, however many clusters it touches.
  const added = new Set<string>();
  const changed = new Set<string>();
  const removed = new Set<string>();
  for (const ch of changes) {
    const d = diffObjects(
      ch.fromRevision === null ? [] : (contents.get(ch.fromRevision) ?? []),
      ch.toRevision === null ? [] : (contents.get(ch.toRevision) ?? []),
      0,
    );
    for (const o of d.added) added.add(objectKeyOf(o));
    for (const o of d.changed) changed.add(objectKeyOf(o));
    for (const o of d.removed) removed.add(objectKeyOf(o));
  }
  return { added: added.size, changed: changed.size, removed: removed.size };
}

/**
 * The plan of one bundle: how it changes, per variant the clusters whose revision would change
 * and the object-level diff from what they run now, and the blast radius by rollout stage with
 * the clusters that would be held back.
 */
export function planBundle(
  input: BundlePlanInput,
  contents: Contents,
  limits: PlanLimits = DEFAULT_PLAN_LIMITS,
): BundlePlan {
  return planOne(input, contents, new Budget(limits.maxDiffChars, limits)).plan;
}

function planOne(
  input: BundlePlanInput,
  contents: Contents,
  budget: Budget,
): { plan: BundlePlan; touched: string[] } {
  const variants: PlanVariant[] = [];
  const touched = new Map<string, number>(); // cluster → object changes
  const allChanges: PlanChange[] = [];
  const targeted = new Set<string>();
  const sortedVariants = [...input.variants].sort((a, b) => compareNames(a.key, b.key));
  for (const v of sortedVariants) {
    const clusters = [...v.clusters].sort(compareNames);
    for (const c of clusters) targeted.add(c);
    const changes: PlanChange[] = [];
    if (v.revision !== undefined) {
      for (const [from, members] of byCurrent(clusters, input.current)) {
        if (from === v.revision) continue;
        const ch = planChange(from, v.revision, members, contents, budget);
        const n = ch.counts.added + ch.counts.changed + ch.counts.removed;
        for (const c of members) touched.set(c, n);
        changes.push(ch);
      }
    }
    allChanges.push(...changes);
    variants.push({
      key: v.key,
      customizations: v.customizations,
      revision: v.revision ?? null,
      ...(v.error === undefined ? {} : { error: v.error }),
      clusters: capList(clusters, budget.limits.maxNames, budget),
      clusterCount: clusters.length,
      changes,
    });
  }
  // A bundle that failed as a whole keeps every cluster's state: nothing leaves.
  const failedWhole = !input.removed && input.variants.length === 0 && input.error !== null;
  const leavingClusters = failedWhole
    ? []
    : [...input.current.entries()]
        .filter(([c, rev]) => !targeted.has(c) && rev !== null)
        .map(([c]) => c)
        .sort(compareNames);
  const leaving: PlanChange[] = [];
  for (const [from, members] of byCurrent(leavingClusters, input.current)) {
    const ch = planChange(from, null, members, contents, budget);
    for (const c of members) touched.set(c, ch.counts.removed);
    leaving.push(ch);
  }
  allChanges.push(...leaving);

  let change: BundleChange;
  if (input.removed) change = BundleChange.Removed;
  else if (!input.existed) change = BundleChange.Added;
  else if (touched.size > 0) change = BundleChange.Changed;
  else change = BundleChange.Unchanged;

  // Blast radius: the touched clusters by stage (one stage when the bundle has no strategy).
  const touchedNames = [...touched.keys()].sort(compareNames);
  const held = new Map<string, string>();
  let stages: PlanStage[];
  const stageOf = (name: string, members: string[]): PlanStage => ({
    name,
    clusters: capList(members, budget.limits.maxNames, budget),
    clusterCount: members.length,
    objectChanges: members.reduce((n, c) => n + (touched.get(c) ?? 0), 0),
  });
  if (input.strategy !== null && !input.removed && touchedNames.length > 0) {
    const observations: ClusterObservation[] = touchedNames.map((name) => ({
      name,
      labels: input.clusters.get(name)?.labels ?? {},
      groups: input.clusters.get(name)?.groups ?? [],
      online: true,
      reportedRevision: null,
      reportedState: 'Pending',
    }));
    const assignment = assignStages(input.strategy, observations);
    stages = assignment.stages
      .filter((s) => s.clusters.length > 0)
      .map((s) => stageOf(s.name, s.clusters));
    for (const c of assignment.unmatched) held.set(c, 'matches no stage of the rolloutStrategy');
  } else {
    stages = touchedNames.length === 0 ? [] : [stageOf('all', touchedNames)];
  }
  for (const c of touchedNames) {
    const dep = input.dependencyHolds.get(c);
    if (dep !== undefined && !held.has(c)) held.set(c, dep);
    if (input.paused) held.set(c, 'bundle is paused (fleet.yaml paused: true)');
  }
  const heldList = [...held.entries()]
    .sort(([a], [b]) => compareNames(a, b))
    .map(([cluster, reason]) => ({ cluster, reason }));
  const plan: BundlePlan = {
    name: input.name,
    change,
    ...(input.error === null ? {} : { error: input.error }),
    variants: change === BundleChange.Unchanged && input.error === null ? [] : variants,
    leaving,
    blastRadius: {
      clusters: touchedNames.length,
      objects: distinctCounts(allChanges, contents),
      stages,
      held: capList(heldList, budget.limits.maxNames, budget),
      heldCount: heldList.length,
    },
  };
  return { plan, touched: touchedNames };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `+3 ~12 -1 objects on 240 clusters in 3 stages`. */
export function describeCounts(objects: ObjectCounts, clusters: number, stages: number): string {
  return `+${objects.added} ~${objects.changed} -${objects.removed} objects on ${plural(clusters, 'cluster')} in ${plural(stages, 'stage')}`;
}

/** A whole plan: every bundle's plan in name order, and the fleet-wide summary. */
export function planBundles(
  inputs: readonly BundlePlanInput[],
  contents: Contents,
  limits: PlanLimits = DEFAULT_PLAN_LIMITS,
): { bundles: BundlePlan[]; summary: PlanSummary } {
  const budget = new Budget(limits.maxDiffChars, limits);
  const planned = [...inputs]
    .sort((a, b) => compareNames(a.name, b.name))
    .map((input) => planOne(input, contents, budget));
  const bundles = planned.map((p) => p.plan);
  const counts = { unchanged: 0, changed: 0, added: 0, removed: 0, errors: 0 };
  const objects = { added: 0, changed: 0, removed: 0 };
  const clusters = new Set<string>();
  let stages = 0;
  for (const b of bundles) {
    counts[b.change]++;
    if (b.error !== undefined) counts.errors++;
    objects.added += b.blastRadius.objects.added;
    objects.changed += b.blastRadius.objects.changed;
    objects.removed += b.blastRadius.objects.removed;
    stages = Math.max(stages, b.blastRadius.stages.length);
  }
  for (const p of planned) for (const c of p.touched) clusters.add(c);
  const clusterCount = clusters.size;
  return {
    bundles,
    summary: {
      bundles: counts,
      objects,
      clusters: clusterCount,
      stages,
      truncated: budget.truncated,
      text: describeCounts(objects, clusterCount, stages),
    },
  };
}
