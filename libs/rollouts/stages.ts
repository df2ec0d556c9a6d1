// How a rollout strategy divides the targeted clusters into stages, and how its counts and
// percentages turn into numbers. Pure functions; the planner and its tests build on them.
import type { RolloutStrategy } from '../bundles/fleet-yaml.js';
import { parseDuration } from '../config/duration.js';
import { matchesLabels, selectorFromObject, type Requirement } from '../selectors/index.js';
import type { ClusterObservation } from './types.js';

/** A count (`2`) or a percentage (`"25%"`) of some total, as fleet.yaml spells it. */
export type CountOrPercent = number | string;

/** Default `autoPartitionSize`: a quarter of the clusters per partition. */
export const DEFAULT_AUTO_PARTITION_SIZE = '25%';
/** Default `maxUnavailable` of a stage: all of its clusters at once (the stages are the safety). */
export const DEFAULT_MAX_UNAVAILABLE = '100%';
/** Default `maxFailures`: none tolerated. */
export const DEFAULT_MAX_FAILURES = 0;
/** Default `progressDeadline` in milliseconds (10 minutes, as a Kubernetes Deployment's). */
export const DEFAULT_PROGRESS_DEADLINE_MS = 600_000;

/**
 * The number `value` stands for out of `total`: a count as given, a percentage of `total` rounded
 * up (`up`) or down (`down`). Throws on a malformed value (fleet.yaml validation prevents them).
 */
export function scaledCount(value: CountOrPercent, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw new Error(`invalid count ${value}`);
    return value;
  }
  const match = /^(\d+)%$/.exec(value);
  if (match === null) throw new Error(`invalid count or percentage ${JSON.stringify(value)}`);
  const scaled = (Number(match[1]) * total) / 100;
  return round === 'up' ? Math.ceil(scaled) : Math.floor(scaled);
}

/** How many clusters of a stage of `size` clusters may be Updating at once: rounded up, at least 1. */
export function maxUnavailableOf(value: CountOrPercent | undefined, size: number): number {
  return Math.max(1, scaledCount(value ?? DEFAULT_MAX_UNAVAILABLE, size, 'up'));
}

/** How many failures a rollout over `total` clusters tolerates: percentages rounded down. */
export function maxFailuresOf(value: CountOrPercent | undefined, total: number): number {
  return scaledCount(value ?? DEFAULT_MAX_FAILURES, total, 'down');
}

/** Clusters per automatic partition of `total` clusters: percentages rounded up, at least 1. */
export function autoPartitionSizeOf(value: CountOrPercent | undefined, total: number): number {
  return Math.max(1, scaledCount(value ?? DEFAULT_AUTO_PARTITION_SIZE, total, 'up'));
}

/** One stage of a strategy with everything the planner needs resolved. */
export interface StagePlan {
  name: string;
  maxUnavailable?: CountOrPercent;
  /** Milliseconds; 0 when none. */
  bakeTime: number;
  requireApproval: boolean;
}

/** The result of `assignStages`. */
export interface StageAssignment {
  /** Stages in order, each with its clusters sorted by name. */
  stages: (StagePlan & { clusters: string[] })[];
  /** Clusters no stage takes, sorted by name. */
  unmatched: string[];
  warnings: string[];
}

type StrategyStage = NonNullable<RolloutStrategy['stages']>[number];

function stageMatcher(stage: StrategyStage): ((c: ClusterObservation) => boolean) | undefined {
  if (stage.clusterSelector !== undefined) {
    const reqs: Requirement[] = selectorFromObject(stage.clusterSelector);
    return (c) => matchesLabels(reqs, c.labels);
  }
  if (stage.clusterGroup !== undefined) {
    const group = stage.clusterGroup;
    return (c) => c.groups.includes(group);
  }
  if (stage.clusters !== undefined) {
    const names = new Set(stage.clusters);
    return (c) => names.has(c.name);
  }
  return undefined;
}

/**
 * The stage plan of the strategy's stage `name`, or of an automatic partition when absent; a
 * stage without `maxUnavailable` takes the strategy's (Fleet's strategy-wide `maxUnavailable`).
 */
export function stagePlanOf(strategy: RolloutStrategy, name: string): StagePlan {
  const stage = strategy.stages?.find((s) => s.name === name);
  if (stage === undefined) {
    // Fleet's strategy-wide maxUnavailable applies to automatic partitions too.
    return strategy.maxUnavailable === undefined
      ? { name, bakeTime: 0, requireApproval: false }
      : { name, maxUnavailable: strategy.maxUnavailable, bakeTime: 0, requireApproval: false };
  }
  return {
    name,
    maxUnavailable: stage.maxUnavailable ?? strategy.maxUnavailable,
    bakeTime: stage.bakeTime === undefined ? 0 : parseDuration(stage.bakeTime),
    requireApproval: stage.requireApproval,
  };
}

/** Name of the `index`-th (0-based) automatic partition. */
export function partitionName(index: number): string {
  return `partition-${index + 1}`;
}

/**
 * Divides the clusters into the strategy's stages. With explicit stages, each cluster goes to
 * the first stage that selects it (`clusterSelector`, `clusterGroup` or `clusters` by name); a
 * stage without any of them takes every cluster not yet taken. Without stages, the clusters,
 * sorted by name, are cut into automatic partitions of `autoPartitionSize`. Clusters no stage
 * takes are returned in `unmatched`.
 */
export function assignStages(
  strategy: RolloutStrategy,
  clusters: readonly ClusterObservation[],
): StageAssignment {
  const sorted = [...clusters].sort((a, b) => compareNames(a.name, b.name));
  const warnings: string[] = [];
  if (strategy.stages === undefined || strategy.stages.length === 0) {
    const size = autoPartitionSizeOf(strategy.autoPartitionSize, sorted.length);
    const stages: StageAssignment['stages'] = [];
    for (let i = 0; i < sorted.length; i += size) {
      const name = partitionName(stages.length);
      stages.push({
        ...stagePlanOf(strategy, name),
        clusters: sorted.slice(i, i + size).map((c) => c.name),
      });
    }
    return { stages, unmatched: [], warnings };
  }
  const taken = new Set<string>();
  const known = new Set(sorted.map((c) => c.name));
  const stages = strategy.stages.map((stage) => {
    const matches = stageMatcher(stage) ?? (() => true);
    const members = sorted.filter((c) => !taken.has(c.name) && matches(c)).map((c) => c.name);
    for (const name of members) taken.add(name);
    for (const name of stage.clusters ?? []) {
      if (!known.has(name)) {
        warnings.push(
          `stage ${JSON.stringify(stage.name)} names cluster ${JSON.stringify(name)}, which the bundle does not target`,
        );
      }
    }
    if (members.length === 0) {
      warnings.push(
        `stage ${JSON.stringify(stage.name)} has no clusters: it passes without releasing any`,
      );
    }
    return { ...stagePlanOf(strategy, stage.name), clusters: members };
  });
  const unmatched = sorted.filter((c) => !taken.has(c.name)).map((c) => c.name);
  if (unmatched.length > 0) {
    warnings.push(
      `${unmatched.length} cluster(s) match no stage and will not be updated: ${unmatched.join(', ')}`,
    );
  }
  return { stages, unmatched, warnings };
}

/** Byte-wise order of names, independent of locale. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
