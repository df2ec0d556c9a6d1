import { isPlainObject, type KubeObject } from './types.js';

/** One field the desired object sets that has another value in the live object. */
export interface FieldDiff {
  /** Where, e.g. `spec.replicas`, `spec.template.spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]`. */
  path: string;
  /** The desired value. */
  desired: unknown;
  /** The live value; undefined when the live object lacks the field. */
  live: unknown;
}

/** Metadata fields the API server sets; never part of what a bundle owns. */
export const SERVER_METADATA_FIELDS: ReadonlySet<string> = new Set([
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'managedFields',
]);

/**
 * The fields `desired` sets whose live value differs, in document order. `status` and the
 * server-set metadata ({@link SERVER_METADATA_FIELDS}) are ignored. Objects compare field by
 * field (extra live fields are fine: defaults and other managers); arrays compare element by
 * element when their lengths match, else as a whole. A desired `null`, `[]` or `{}` matches an
 * absent live field (the API server drops empty values).
 */
export function diffOwnedFields(desired: KubeObject, live: KubeObject): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (key === 'status') continue;
    if (key === 'metadata' && isPlainObject(value)) {
      const liveMeta = live.metadata;
      for (const [mk, mv] of Object.entries(value)) {
        if (SERVER_METADATA_FIELDS.has(mk)) continue;
        compare(
          mv,
          isPlainObject(liveMeta) ? liveMeta[mk] : undefined,
          `metadata${segment(mk)}`,
          diffs,
        );
      }
      continue;
    }
    compare(value, live[key], key, diffs);
  }
  return diffs;
}

/** True when the live object has every field the desired object sets (see {@link diffOwnedFields}). */
export function hasDesiredFields(desired: KubeObject, live: KubeObject): boolean {
  return diffOwnedFields(desired, live).length === 0;
}

/**
 * A one-line summary, e.g. `spec.replicas: 3 → 5; spec.template.spec.containers[0].image:
 * "web:1" → "web:2"`, listing at most `max` fields and counting the rest; empty without diffs.
 */
export function summarizeDrift(diffs: readonly FieldDiff[], max = 3): string {
  if (diffs.length === 0) return '';
  const shown = diffs
    .slice(0, max)
    .map(
      (d) => `${d.path}: ${show(d.desired)} → ${d.live === undefined ? '(missing)' : show(d.live)}`,
    );
  const rest = diffs.length - shown.length;
  return rest > 0 ? `${shown.join('; ')}; and ${rest} more` : shown.join('; ');
}

/**
 * The differences between a desired value and a live one at `path` (see
 * {@link diffOwnedFields} for how values compare); `path` prefixes every reported path.
 */
export function diffValues(desired: unknown, live: unknown, path: string): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  compare(desired, live, path, diffs);
  return diffs;
}

/**
 * A one-line summary of drift that was put back, live value first, e.g. `spec.replicas 5 → 3`,
 * listing at most `max` fields and counting the rest; empty without diffs.
 */
export function summarizeRevert(diffs: readonly FieldDiff[], max = 3): string {
  if (diffs.length === 0) return '';
  const shown = diffs
    .slice(0, max)
    .map(
      (d) => `${d.path} ${d.live === undefined ? '(missing)' : show(d.live)} → ${show(d.desired)}`,
    );
  const rest = diffs.length - shown.length;
  return rest > 0 ? `${shown.join('; ')}; and ${rest} more` : shown.join('; ');
}

/** Most drifted fields reported per object; the rest are counted in the summary message. */
export const MAX_DRIFT_FIELDS = 20;
/** Longest value (JSON text) reported per drifted field, in characters. */
export const MAX_DRIFT_VALUE_CHARS = 512;

/** A drifted field as a status report carries it: values as JSON text. */
export interface ReportedFieldDrift {
  path: string;
  desired: string;
  /** Absent when the live object lacks the field. */
  live?: string;
}

function jsonText(value: unknown, max: number): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * The drifted fields to report, bounded: at most `maxFields` fields, each value as JSON text of
 * at most `maxValueChars` characters.
 */
export function reportedDrift(
  diffs: readonly FieldDiff[],
  maxFields = MAX_DRIFT_FIELDS,
  maxValueChars = MAX_DRIFT_VALUE_CHARS,
): ReportedFieldDrift[] {
  return diffs.slice(0, maxFields).map((d) => ({
    path: d.path,
    desired: jsonText(d.desired, maxValueChars),
    ...(d.live === undefined ? {} : { live: jsonText(d.live, maxValueChars) }),
  }));
}

/** The path segment of an object key: `.name`, or `["app.kubernetes.io/name"]` when not an identifier. */
export function pathSegment(key: string): string {
  return segment(key);
}

function compare(desired: unknown, live: unknown, path: string, diffs: FieldDiff[]): void {
  if (live === undefined && isEmpty(desired)) return;
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) {
      diffs.push({ path, desired, live });
      return;
    }
    for (const [key, value] of Object.entries(desired)) {
      compare(value, live[key], `${path}${segment(key)}`, diffs);
    }
    return;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) {
      diffs.push({ path, desired, live });
      return;
    }
    desired.forEach((item, i) => compare(item, live[i], `${path}[${i}]`, diffs));
    return;
  }
  if (desired !== live) diffs.push({ path, desired, live });
}

function isEmpty(value: unknown): boolean {
  return (
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (isPlainObject(value) && Object.keys(value).length === 0)
  );
}

function segment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
