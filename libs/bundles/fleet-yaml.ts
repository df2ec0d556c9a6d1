// The optional per-bundle fleet.yaml: where a bundle goes, how it varies per cluster, how it is
// rendered and rolled out. Everything is validated up front so that a typo is reported with the
// field it is in (`fleet.yaml: customizations[0].clusterSelector: ...`), never silently ignored.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { selectorFromObject, type LabelSelector } from '../selectors/index.js';
import { BundleError } from './errors.js';

const labelSelector = z.unknown().transform((value, ctx): LabelSelector => {
  try {
    selectorFromObject(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
  return value as LabelSelector;
});

const nonEmpty = z.string().min(1, 'must not be empty');

/** Who a target (or customization) selects; with several fields, a cluster must match all. */
const targetFields = {
  clusterSelector: labelSelector.optional(),
  clusterGroup: nonEmpty.optional(),
  clusterName: nonEmpty.optional(),
};

function requireSelection(
  value: { clusterSelector?: unknown; clusterGroup?: unknown; clusterName?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (
    value.clusterSelector === undefined &&
    value.clusterGroup === undefined &&
    value.clusterName === undefined
  ) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs clusterSelector, clusterGroup or clusterName',
    });
  }
}

/** One entry of `targets`: a label selector, a cluster group, a cluster name (all given must hold). */
export const TargetSchema = z
  .strictObject({ name: z.string().optional(), ...targetFields })
  .superRefine(requireSelection);
/** One entry of `targets` (fleet.yaml) or of a GitRepo's targets. */
export type Target = z.infer<typeof TargetSchema>;

const patchTarget = z.strictObject({
  apiVersion: nonEmpty.optional(),
  kind: nonEmpty.optional(),
  name: nonEmpty.optional(),
  namespace: nonEmpty.optional(),
});

const jsonPointer = z
  .string()
  .refine((p) => p === '' || p.startsWith('/'), "must be a JSON pointer ('' or starting with '/')");

const operation = z
  .strictObject({
    op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
    path: jsonPointer,
    value: z.unknown().optional(),
    from: jsonPointer.optional(),
  })
  .superRefine((op, ctx) => {
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    const needsFrom = op.op === 'move' || op.op === 'copy';
    if (needsValue && op.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for op ${op.op}` });
    }
    if (!needsValue && op.value !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is not allowed for op ${op.op}` });
    }
    if (needsFrom && op.from === undefined) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: `is required for op ${op.op}` });
    }
    if (!needsFrom && op.from !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: `is not allowed for op ${op.op}` });
    }
  });
/** One RFC 6902 JSON patch operation. */
export type PatchOperation = z.infer<typeof operation>;

const jsonObject = z.record(z.string(), z.unknown());

/**
 * A patch on rendered objects: `merge` (RFC 7396 JSON merge patch) or `operations` (RFC 6902),
 * on every object matching `target` (all objects when absent).
 */
export const PatchSchema = z
  .strictObject({
    target: patchTarget.optional(),
    merge: jsonObject.optional(),
    operations: z.array(operation).min(1, 'must not be empty').optional(),
  })
  .superRefine((patch, ctx) => {
    if ((patch.merge === undefined) === (patch.operations === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of merge or operations' });
    }
  });
/** A patch of a customization. */
export type Patch = z.infer<typeof PatchSchema>;

/** A customization: applies to the clusters it selects, after the ones before it. */
export const CustomizationSchema = z
  .strictObject({
    name: nonEmpty,
    ...targetFields,
    kustomize: z.strictObject({ dir: nonEmpty }).optional(),
    helm: z.strictObject({ values: jsonObject }).optional(),
    patches: z.array(PatchSchema).default([]),
  })
  .superRefine(requireSelection);
/** A customization of fleet.yaml. */
export type Customization = z.infer<typeof CustomizationSchema>;

const countOrPercent = z.union([z.number(), z.string()]).superRefine((value, ctx) => {
  const ok =
    typeof value === 'number'
      ? Number.isInteger(value) && value >= 0
      : /^(100|[1-9]?[0-9])%$/.test(value);
  if (!ok) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a non-negative integer or a percentage like "25%", got ${JSON.stringify(value)}`,
    });
  }
});

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go-style duration (`500ms`, `60s`, `10m`, `1h30m`); throws when malformed. */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  }
  return total;
}

const duration = z.string().regex(DURATION, 'must be a duration like "60s", "10m" or "1h30m"');

const StageSchema = z
  .strictObject({
    name: nonEmpty,
    clusterSelector: labelSelector.optional(),
    clusterGroup: nonEmpty.optional(),
    clusters: z.array(nonEmpty).optional(),
    maxUnavailable: countOrPercent.optional(),
    bakeTime: duration.optional(),
    requireApproval: z.boolean().default(false),
  })
  .superRefine((stage, ctx) => {
    const given = (['clusterSelector', 'clusterGroup', 'clusters'] as const).filter(
      (key) => stage[key] !== undefined,
    );
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `takes one of clusterSelector, clusterGroup or clusters, got ${given.join(' and ')}`,
      });
    }
  });

/** How a new revision of the bundle is rolled out (see DESIGN.md "Rollouts"). */
export const RolloutStrategySchema = z
  .strictObject({
    stages: z.array(StageSchema).optional(),
    autoPartitionSize: countOrPercent.optional(),
    maxFailures: countOrPercent.optional(),
    progressDeadline: duration.optional(),
    onFailure: z.enum(['pause', 'rollback']).default('pause'),
  })
  .superRefine((strategy, ctx) => {
    const seen = new Map<string, number>();
    strategy.stages?.forEach((stage, i) => {
      const first = seen.get(stage.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stages', i, 'name'],
          message: `duplicate stage name ${JSON.stringify(stage.name)} (also stages[${first}])`,
        });
      } else {
        seen.set(stage.name, i);
      }
    });
  });
/** A validated rollout strategy. */
export type RolloutStrategy = z.infer<typeof RolloutStrategySchema>;

/** The schema of fleet.yaml; absent lists and flags take their defaults. */
export const FleetYamlSchema = z
  .strictObject({
    defaultNamespace: nonEmpty.optional(),
    targets: z.array(TargetSchema).default([]),
    customizations: z.array(CustomizationSchema).default([]),
    substitute: z.boolean().default(false),
    dependsOn: z.array(z.strictObject({ name: nonEmpty })).default([]),
    correctDrift: z.boolean().default(false),
    keepResources: z.boolean().default(false),
    forceConflicts: z.boolean().default(false),
    helm: z
      .strictObject({
        chart: z.string().optional(),
        repo: z.string().optional(),
        version: z.string().optional(),
        releaseName: nonEmpty.optional(),
        values: jsonObject.optional(),
        valuesFiles: z.array(nonEmpty).optional(),
      })
      .optional(),
    kustomize: z.strictObject({ dir: nonEmpty.optional() }).optional(),
    rolloutStrategy: RolloutStrategySchema.optional(),
  })
  .superRefine((fleet, ctx) => {
    const seen = new Map<string, number>();
    fleet.customizations.forEach((customization, i) => {
      const first = seen.get(customization.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['customizations', i, 'name'],
          message: `duplicate customization name ${JSON.stringify(customization.name)} (also customizations[${first}])`,
        });
      } else {
        seen.set(customization.name, i);
      }
    });
  });
/** A validated fleet.yaml. */
export type FleetYaml = z.infer<typeof FleetYamlSchema>;

/** `a.b[0].c` from a zod issue path. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) {
      out += out === '' ? segment : `.${segment}`;
    } else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${formatFieldPath([...issue.path, key])}: unknown field`);
      }
      continue;
    }
    const where = formatFieldPath(issue.path);
    lines.push(where === '' ? issue.message : `${where}: ${issue.message}`);
  }
  return lines;
}

/**
 * Validates an already parsed fleet.yaml value (`null` and `undefined` count as empty). Throws
 * `BundleError` naming `path` and every bad field.
 */
export function validateFleetYaml(value: unknown, path: string, bundle?: string): FleetYaml {
  const result = FleetYamlSchema.safeParse(value ?? {}, {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
  });
  if (!result.success) {
    const lines = describeIssues(result.error.issues);
    throw new BundleError(`${path}: ${lines.join('; ')}`, { bundle, path });
  }
  return result.data;
}

/**
 * Parses and validates the text of a fleet.yaml (`path` names it in errors). An empty file is
 * an empty fleet.yaml. Throws `BundleError` for YAML syntax errors (with the line), more than
 * one document, unknown keys and wrong types, each naming its field.
 */
export function parseFleetYaml(text: string, path: string, bundle?: string): FleetYaml {
  const doc = parseDocument(text, { uniqueKeys: true });
  const [error] = doc.errors;
  if (error !== undefined) {
    const line = error.linePos?.[0].line;
    const at = line === undefined ? '' : ` (line ${line})`;
    const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new BundleError(`${path}${at}: invalid YAML: ${reason}`, { bundle, path });
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (
    value !== null &&
    value !== undefined &&
    (typeof value !== 'object' || Array.isArray(value))
  ) {
    throw new BundleError(`${path}: must be a mapping of fields`, { bundle, path });
  }
  return validateFleetYaml(value, path, bundle);
}
