// Plans: what a candidate commit would change on the fleet — object-level diffs of rendered
// revisions (Secret values masked), and per bundle the clusters touched by rollout stage.

/** Object identities, pairing and unified YAML diffs of rendered objects. */
export {
  MASKED,
  MASKED_AFTER,
  MASKED_BEFORE,
  MAX_OBJECT_DIFF_CHARS,
  capText,
  describeObject,
  diffObjects,
  maskSecrets,
  objectIdOf,
  objectKeyOf,
  objectYaml,
  unifiedObjectDiff,
} from './object-diff.js';
export type { ChangedObject, ObjectDiff, ObjectId } from './object-diff.js';

/** A bundle's plan and the fleet-wide plan with its summary. */
export {
  BundleChange,
  DEFAULT_PLAN_LIMITS,
  describeCounts,
  planBundle,
  planBundles,
} from './plan.js';
export type {
  BundlePlan,
  BundlePlanInput,
  CandidateVariant,
  Contents,
  HeldCluster,
  ObjectCounts,
  PlanChange,
  PlanLimits,
  PlanStage,
  PlanSummary,
  PlanVariant,
} from './plan.js';
