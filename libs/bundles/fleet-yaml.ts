// The optional per-bundle fleet.yaml: where a bundle goes, how it varies per cluster, how it is
// rendered and rolled out. Everything is validated up front so that a typo is reported with the
// field it is in (`fleet.yaml: customizations[0].clusterSelector: ...`), never silently ignored.
import { z } from 'zod';
import { DURATION_FORMAT, isDuration } from '../config/duration.js';
import { selectorFromObject, type LabelSelector } from '../selectors/index.js';
import { chartSource } from './chart-source.js';
import { BundleError } from './errors.js';
import { readYaml } from './yaml.js';

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
/** A string Fleet allows to be empty, where empty means absent. */
const optString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));
const stringMap = z.record(z.string(), z.string());

/** Who a target (or customization) selects; with several fields, a cluster must match all. */
const targetFields = {
  clusterSelector: labelSelector.optional(),
  clusterGroup: nonEmpty.optional(),
  clusterGroupSelector: labelSelector.optional(),
  clusterName: nonEmpty.optional(),
};

function requireSelection(
  value: {
    clusterSelector?: unknown;
    clusterGroup?: unknown;
    clusterGroupSelector?: unknown;
    clusterName?: unknown;
  },
  ctx: z.RefinementCtx,
): void {
  if (
    value.clusterSelector === undefined &&
    value.clusterGroup === undefined &&
    value.clusterGroupSelector === undefined &&
    value.clusterName === undefined
  ) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs clusterSelector, clusterGroup, clusterGroupSelector or clusterName',
    });
  }
}

/** One entry of `targets`: a label selector, a cluster group, a cluster name (all given must hold). */
export const TargetSchema = z
  .strictObject({ name: z.string().optional(), ...targetFields })
  .superRefine(requireSelection);

/**
 * One entry of Fleet's `overrideTargets`: replaces the GitRepo's targets. Fleet's GitTarget
 * fields; an entry without any selection matches no cluster, as in Fleet.
 */
const OverrideTargetSchema = z.strictObject({ name: z.string().optional(), ...targetFields });
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

const duration = z.string().refine(isDuration, DURATION_FORMAT);

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

const PartitionSchema = z.strictObject({
  name: optString,
  maxUnavailable: countOrPercent.optional(),
  clusterName: optString,
  clusterSelector: labelSelector.optional(),
  clusterGroup: optString,
  clusterGroupSelector: labelSelector.optional(),
});

/**
 * How a new revision of the bundle is rolled out (see DESIGN.md "Rollouts"). Fleet's form
 * (`partitions`, `maxUnavailable`, `maxUnavailablePartitions`) is accepted and mapped onto
 * stages: each partition becomes a stage (in order, named after the partition or
 * `partition-N`), clusters no partition takes go to a last stage `rest`; Fleet's
 * `maxUnavailable` becomes the default `maxUnavailable` of every stage. `stages` and
 * `partitions` together are an error.
 */
export const RolloutStrategySchema = z
  .strictObject({
    stages: z.array(StageSchema).optional(),
    partitions: z.array(PartitionSchema).optional(),
    maxUnavailable: countOrPercent.optional(),
    maxUnavailablePartitions: countOrPercent.optional(),
    autoPartitionSize: countOrPercent.optional(),
    maxFailures: countOrPercent.optional(),
    progressDeadline: duration.optional(),
    onFailure: z.enum(['pause', 'rollback']).default('pause'),
  })
  .superRefine((strategy, ctx) => {
    if (strategy.stages !== undefined && strategy.partitions !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['partitions'],
        message: "takes either Flotilla's stages or Fleet's partitions, not both",
      });
    }
    strategy.partitions?.forEach((p, i) => {
      const given = (
        ['clusterName', 'clusterSelector', 'clusterGroup', 'clusterGroupSelector'] as const
      ).filter((key) => p[key] !== undefined);
      if (given.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['partitions', i],
          message: `takes one of clusterName, clusterSelector or clusterGroup, got ${given.join(' and ')}`,
        });
      }
      if (p.clusterGroupSelector !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['partitions', i, 'clusterGroupSelector'],
          message:
            'is not supported in rollout partitions (cluster groups carry no labels); use clusterGroup',
        });
      }
    });
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
  })
  .transform(({ partitions, maxUnavailablePartitions: _ignored, ...strategy }) => {
    if (partitions === undefined) return strategy;
    const stages: z.infer<typeof StageSchema>[] = partitions.map((p, i) => ({
      name: p.name ?? `partition-${i + 1}`,
      ...(p.clusterSelector !== undefined ? { clusterSelector: p.clusterSelector } : {}),
      ...(p.clusterGroup !== undefined ? { clusterGroup: p.clusterGroup } : {}),
      ...(p.clusterName !== undefined ? { clusters: [p.clusterName] } : {}),
      ...(p.maxUnavailable !== undefined ? { maxUnavailable: p.maxUnavailable } : {}),
      requireApproval: false,
    }));
    if (partitions.length > 0) stages.push({ name: 'rest', requireApproval: false });
    return { ...strategy, stages };
  });
/** A validated rollout strategy. */
export type RolloutStrategy = z.infer<typeof RolloutStrategySchema>;

const valueRef = z.strictObject({
  name: nonEmpty,
  namespace: optString,
  key: optString,
});

/**
 * Fleet's `helm` options. Where the chart comes from (`chart`, `repo`, `version`) is checked
 * with `chartSource`; the install options Helm's client would use are accepted (see README,
 * "Coming from Fleet", for what each does under server-side apply).
 */
export const HelmOptionsSchema = z
  .strictObject({
    chart: optString,
    repo: optString,
    version: optString,
    releaseName: optString.refine(
      (v) =>
        v === undefined ||
        (v.length <= 53 &&
          /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(v)),
      'must be a Helm release name (lower case letters, digits, "-" and ".", at most 53 characters)',
    ),
    values: jsonObject
      .nullable()
      .optional()
      .transform((v) => v ?? undefined),
    valuesFiles: z.array(nonEmpty).optional(),
    valuesFrom: z
      .array(
        z.strictObject({
          configMapKeyRef: valueRef.optional(),
          secretKeyRef: valueRef.optional(),
        }),
      )
      .optional(),
    takeOwnership: z.boolean().optional(),
    force: z.boolean().optional(),
    atomic: z.boolean().optional(),
    maxHistory: z.number().int().nonnegative().optional(),
    timeoutSeconds: z.number().int().nonnegative().optional(),
    waitForJobs: z.boolean().optional(),
    disablePreProcess: z.boolean().optional(),
    disableDNS: z.boolean().optional(),
    skipSchemaValidation: z.boolean().optional(),
    disableDependencyUpdate: z.boolean().optional(),
  })
  .superRefine((helm, ctx) => {
    helm.valuesFrom?.forEach((ref, i) => {
      if ((ref.configMapKeyRef === undefined) === (ref.secretKeyRef === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['valuesFrom', i],
          message: 'needs exactly one of configMapKeyRef or secretKeyRef',
        });
      }
    });
  });
/** Fleet's helm options of a fleet.yaml. */
export type HelmOptions = z.infer<typeof HelmOptionsSchema>;

/** `correctDrift`: a boolean (Flotilla's and Fleet's short form) or Fleet's object. */
const CorrectDriftSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      enabled: z.boolean().optional(),
      force: z.boolean().optional(),
      keepFailHistory: z.boolean().optional(),
    }),
  ])
  .transform((v) =>
    typeof v === 'boolean'
      ? { enabled: v, force: false, keepFailHistory: false }
      : {
          enabled: v.enabled ?? false,
          force: v.force ?? false,
          keepFailHistory: v.keepFailHistory ?? false,
        },
  );
/** Drift correction, normalized. */
export type CorrectDrift = z.output<typeof CorrectDriftSchema>;

/** One of Fleet's `diff.comparePatches`: fields of matching objects the drift check ignores. */
const ComparePatchSchema = z.strictObject({
  apiVersion: optString,
  kind: optString,
  name: optString,
  namespace: optString,
  operations: z
    .array(
      z.strictObject({
        op: z.literal('remove', { error: 'only "remove" operations are meaningful here' }),
        path: jsonPointer,
        value: z.string().optional(),
      }),
    )
    .optional(),
  jsonPointers: z.array(jsonPointer).optional(),
});
/** A compare patch. */
export type ComparePatch = z.infer<typeof ComparePatchSchema>;

/** Fleet's BundleDeploymentOptions: what a fleet.yaml and each targetCustomization may set. */
const deploymentOptionFields = {
  defaultNamespace: optString,
  namespace: optString.refine(
    (v) => v === undefined || /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v),
    'must be a namespace name (lower case letters, digits and "-")',
  ),
  namespaceLabels: stringMap
    .nullable()
    .optional()
    .transform((v) => v ?? undefined),
  namespaceAnnotations: stringMap
    .nullable()
    .optional()
    .transform((v) => v ?? undefined),
  deleteNamespace: z.boolean().optional(),
  kustomize: z
    .strictObject({ dir: optString })
    .nullable()
    .optional()
    .transform((v) => v ?? undefined),
  helm: HelmOptionsSchema.nullable()
    .optional()
    .transform((v) => v ?? undefined),
  serviceAccount: optString,
  forceSyncGeneration: z.number().int().optional(),
  yaml: z
    .strictObject({ overlays: z.array(nonEmpty).optional() })
    .nullable()
    .optional()
    .transform((v) => v ?? undefined),
  diff: z
    .strictObject({ comparePatches: z.array(ComparePatchSchema).optional() })
    .nullable()
    .optional()
    .transform((v) => v ?? undefined),
  keepResources: z.boolean().optional(),
  ignore: z
    .strictObject({ conditions: z.array(stringMap).optional() })
    .nullable()
    .optional()
    .transform((v) => v ?? undefined),
  correctDrift: CorrectDriftSchema.optional(),
};

/**
 * One of Fleet's `targetCustomizations`: for the clusters it selects (only when it is the
 * first entry that does), its options replace or extend the fleet.yaml's. An entry selecting
 * nothing matches no cluster, as in Fleet.
 */
export const TargetCustomizationSchema = z
  .strictObject({
    name: optString,
    ...targetFields,
    clusterGroup: optString,
    clusterName: optString,
    doNotDeploy: z.boolean().default(false),
    ...deploymentOptionFields,
  })
  .superRefine((custom, ctx) => {
    for (const key of BUNDLE_WIDE_OPTIONS) {
      if (custom[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            'is not supported per target: Flotilla applies it to the whole bundle; set it at the top level of fleet.yaml',
        });
      }
    }
  });

/**
 * Options the agent acts on, which Flotilla applies bundle-wide: refused in a
 * targetCustomization rather than silently applied to every cluster.
 */
export const BUNDLE_WIDE_OPTIONS = [
  'namespaceLabels',
  'namespaceAnnotations',
  'deleteNamespace',
  'diff',
  'keepResources',
  'ignore',
  'correctDrift',
] as const;
/** A validated targetCustomization. */
export type TargetCustomization = z.infer<typeof TargetCustomizationSchema>;

/**
 * One entry of a fleet.yaml's `targets`: who the bundle goes to (narrowing the GitRepo's
 * targets), and — Fleet's older form of targetCustomizations — options for those clusters.
 */
const FleetTargetSchema = TargetCustomizationSchema.superRefine(requireSelection);

/** Selection fields of a target, without options. */
const SELECTION_KEYS = [
  'name',
  'clusterSelector',
  'clusterGroup',
  'clusterGroupSelector',
  'clusterName',
] as const;

/** True when a fleet.yaml target carries options (Fleet applies them to its clusters). */
function hasOptions(target: TargetCustomization): boolean {
  return Object.entries(target).some(
    ([key, value]) =>
      value !== undefined &&
      !(SELECTION_KEYS as readonly string[]).includes(key) &&
      !(key === 'doNotDeploy' && value === false),
  );
}

const BundleRefSchema = z
  .strictObject({
    name: optString,
    selector: labelSelector.optional(),
    acceptedStates: z
      .array(
        z.enum([
          'Ready',
          'NotReady',
          'Pending',
          'OutOfSync',
          'Modified',
          'WaitApplied',
          'ErrApplied',
        ]),
      )
      .optional(),
  })
  .superRefine((ref, ctx) => {
    if (ref.name === undefined && ref.selector === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs name or selector' });
    }
    if (ref.acceptedStates !== undefined && ref.acceptedStates.some((s) => s !== 'Ready')) {
      ctx.addIssue({
        code: 'custom',
        path: ['acceptedStates'],
        message: 'only Ready is supported: a dependency counts once it is Ready on the cluster',
      });
    }
  });

/** Adds an issue at `at` when the chart fields do not name a chart (see `chartSource`). */
function checkChart(
  fields: { chart?: string; repo?: string; version?: string },
  at: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  try {
    chartSource(fields);
  } catch (err) {
    const message = (err as Error).message;
    const field = /^helm\.(chart|repo|version): /.exec(message);
    ctx.addIssue({
      code: 'custom',
      path: field?.[1] === undefined ? at : [...at, field[1]],
      message: field === null ? message : message.slice(field[0].length),
    });
  }
}

/** The schema of fleet.yaml; absent lists and flags take their defaults. */
export const FleetYamlSchema = z
  .strictObject({
    name: optString,
    labels: stringMap
      .nullable()
      .optional()
      .transform((v) => v ?? {}),
    ...deploymentOptionFields,
    targets: z.array(FleetTargetSchema).default([]),
    // A list (Fleet today), or `true` (Fleet's older form: the fleet.yaml's `targets` replace
    // the GitRepo's, as in fleet-examples' override-targets).
    overrideTargets: z.union([z.array(OverrideTargetSchema), z.boolean()]).optional(),
    targetCustomizations: z.array(TargetCustomizationSchema).default([]),
    customizations: z.array(CustomizationSchema).default([]),
    substitute: z.boolean().default(false),
    dependsOn: z.array(BundleRefSchema).default([]),
    correctDrift: CorrectDriftSchema.default({
      enabled: false,
      force: false,
      keepFailHistory: false,
    }),
    keepResources: z.boolean().default(false),
    forceConflicts: z.boolean().default(false),
    paused: z.boolean().default(false),
    rolloutStrategy: RolloutStrategySchema.optional(),
    imageScans: z.unknown().optional(),
  })
  .superRefine((fleet, ctx) => {
    if (fleet.imageScans !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['imageScans'],
        message:
          'is not supported: Flotilla does not scan image registries or write commits back; update image tags in Git (for example with Renovate)',
      });
    }
    // Fleet templates helm values ({{ .ClusterName }}, ...) unless disablePreProcess is set;
    // Flotilla does not, so such values are refused rather than passed on as text.
    const templated = (helm: { values?: Record<string, unknown> } | undefined): boolean =>
      helm?.values !== undefined && JSON.stringify(helm.values).includes('{{');
    const preProcess = (own: { disablePreProcess?: boolean } | undefined): boolean =>
      (own?.disablePreProcess ?? fleet.helm?.disablePreProcess) !== true;
    const templatedMessage =
      'holds Go template text ({{ ... }}), which Fleet evaluates (.ClusterName, .ClusterLabels, ...) and Flotilla does not: use substitute: true with ${cluster.name} / ${cluster.labels.KEY}, or set helm.disablePreProcess: true to pass the text to the chart as it is';
    if (templated(fleet.helm) && preProcess(fleet.helm)) {
      ctx.addIssue({ code: 'custom', path: ['helm', 'values'], message: templatedMessage });
    }
    const customs = [
      ...fleet.targetCustomizations.map((c, i) => [c, 'targetCustomizations', i] as const),
      ...fleet.targets.map((c, i) => [c, 'targets', i] as const),
    ];
    for (const [custom, field, i] of customs) {
      if (templated(custom.helm) && preProcess(custom.helm)) {
        ctx.addIssue({
          code: 'custom',
          path: [field, i, 'helm', 'values'],
          message: templatedMessage,
        });
      }
    }
    // Where each variant's chart comes from: a targetCustomization's chart, repo and version
    // replace the fleet.yaml's one by one.
    checkChart(fleet.helm ?? {}, ['helm'], ctx);
    for (const [custom, field, i] of customs) {
      if (custom.helm === undefined) continue;
      const pick = (key: 'chart' | 'repo' | 'version'): string | undefined =>
        custom.helm?.[key] ?? fleet.helm?.[key];
      checkChart(
        { chart: pick('chart'), repo: pick('repo'), version: pick('version') },
        [field, i, 'helm'],
        ctx,
      );
    }
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
  })
  .transform(({ imageScans: _refused, targets, targetCustomizations, ...fleet }) => ({
    ...fleet,
    // Targets only select; those with options also customize, after targetCustomizations
    // (Fleet evaluates a bundle's targets in order, first match wins).
    targets: targets.map((t): Target => {
      const out: Target = {};
      for (const key of SELECTION_KEYS) {
        if (t[key] !== undefined) (out as Record<string, unknown>)[key] = t[key];
      }
      return out;
    }),
    targetCustomizations: [...targetCustomizations, ...targets.filter(hasOptions)],
  }));
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

/** Every field name the schema knows, at any depth (for "did you mean"). */
function fieldNames(
  schema: z.core.$ZodType,
  out = new Set<string>(),
  seen = new Set<unknown>(),
): Set<string> {
  if (seen.has(schema)) return out;
  seen.add(schema);
  const def = schema._zod.def as unknown as Record<string, unknown>;
  const visit = (child: unknown): void => {
    if (typeof child === 'object' && child !== null && '_zod' in child) {
      fieldNames(child as z.core.$ZodType, out, seen);
    }
  };
  if (def.type === 'object') {
    for (const [key, child] of Object.entries(def.shape as Record<string, unknown>)) {
      out.add(key);
      visit(child);
    }
  }
  for (const key of ['innerType', 'in', 'out', 'element', 'valueType']) visit(def[key]);
  if (Array.isArray(def.options)) def.options.forEach(visit);
  return out;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(current + 1, (row[j - 1] ?? 0) + 1, prev + cost);
      prev = current;
    }
  }
  return row[b.length] ?? 0;
}

let knownFields: string[] | undefined;

/** The known field nearest to `key` (at most a third of its letters off), if any. */
export function nearestField(key: string): string | undefined {
  knownFields ??= [...fieldNames(FleetYamlSchema)].sort();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const name of knownFields) {
    const d = editDistance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = nearestField(key);
        const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
        lines.push(`${formatFieldPath([...issue.path, key])}: unknown field${hint}`);
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
  const [value] = readYaml(text, path, {
    single: true,
    maxAliasCount: 100,
    fail: (message) => new BundleError(message, { bundle, path }),
  });
  if (
    value !== null &&
    value !== undefined &&
    (typeof value !== 'object' || Array.isArray(value))
  ) {
    throw new BundleError(`${path}: must be a mapping of fields`, { bundle, path });
  }
  return validateFleetYaml(value, path, bundle);
}
