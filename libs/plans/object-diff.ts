import { FILE_HEADERS_ONLY, createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { KubeObject } from '../bundles/index.js';

/** The identity of a rendered object in a plan. */
export interface ObjectId {
  apiVersion: string;
  kind: string;
  /** Absent for objects without one (cluster-scoped, or the bundle's namespace applies). */
  namespace?: string;
  name: string;
}

/** An object both sides have, with different content. */
export interface ChangedObject extends ObjectId {
  /**
   * Unified diff of the object's YAML (Secret values masked); null when the plan's size cap
   * left it out.
   */
  diff: string | null;
}

/** What changes from one list of objects to another. */
export interface ObjectDiff {
  added: ObjectId[];
  removed: ObjectId[];
  changed: ChangedObject[];
  /** How many objects stay exactly as they are. */
  unchanged: number;
}

/** The text a masked Secret value shows when both sides have the same value. */
export const MASKED = '<masked>';
/** The texts a masked Secret value shows when the value changes (before, after). */
export const MASKED_BEFORE = '<masked:before>';
export const MASKED_AFTER = '<masked:after>';

/** Longest unified diff kept for one object, in characters; longer ones are cut. */
export const MAX_OBJECT_DIFF_CHARS = 16 * 1024;

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function metadataOf(obj: KubeObject): Record<string, unknown> {
  const m = obj.metadata;
  return typeof m === 'object' && m !== null && !Array.isArray(m)
    ? (m as Record<string, unknown>)
    : {};
}

/** The object's identity as shown in a plan. */
export function objectIdOf(obj: KubeObject): ObjectId {
  const meta = metadataOf(obj);
  const namespace = str(meta.namespace);
  return {
    apiVersion: str(obj.apiVersion),
    kind: str(obj.kind),
    ...(namespace === '' ? {} : { namespace }),
    name: str(meta.name),
  };
}

/**
 * The key objects are paired by: API group (not version: a new apiVersion of the same group is a
 * change), kind, namespace and name.
 */
export function objectKeyOf(id: ObjectId): string {
  const slash = id.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : id.apiVersion.slice(0, slash);
  return `${group}\u0000${id.kind}\u0000${id.namespace ?? ''}\u0000${id.name}`;
}

/** `apps/v1 Deployment web/api`: an object's identity in one line. */
export function describeObject(id: ObjectId): string {
  return `${id.apiVersion} ${id.kind} ${id.namespace === undefined ? '' : `${id.namespace}/`}${id.name}`;
}

/** Byte-wise order, independent of locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortIds<T extends ObjectId>(ids: T[]): T[] {
  return ids.sort((a, b) => compare(objectKeyOf(a), objectKeyOf(b)));
}

function isSecret(obj: KubeObject): boolean {
  return obj.kind === 'Secret' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined);
}

function valuesOf(obj: KubeObject, field: string): Record<string, unknown> | undefined {
  const v = obj[field];
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * Both sides of a Secret with every value of `data` and `stringData` masked: a value that stays
 * shows as `MASKED` on both sides, one that changes as `MASKED_BEFORE` / `MASKED_AFTER`, so the
 * diff tells which keys change without showing any value. Other objects are returned as they are.
 */
export function maskSecrets(
  before: KubeObject | undefined,
  after: KubeObject | undefined,
): [KubeObject | undefined, KubeObject | undefined] {
  const secret =
    (before !== undefined && isSecret(before)) || (after !== undefined && isSecret(after));
  if (!secret) return [before, after];
  const mask = (obj: KubeObject | undefined, other: KubeObject | undefined, changed: string) => {
    if (obj === undefined) return undefined;
    const out: KubeObject = { ...obj };
    for (const field of ['data', 'stringData']) {
      const values = valuesOf(obj, field);
      if (values === undefined) continue;
      const others = other === undefined ? undefined : valuesOf(other, field);
      out[field] = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [
          k,
          others !== undefined && k in others && others[k] === v ? MASKED : changed,
        ]),
      );
    }
    return out;
  };
  return [mask(before, after, MASKED_BEFORE), mask(after, before, MASKED_AFTER)];
}

/** An object as YAML, keys sorted, for diffs that do not depend on key order. */
export function objectYaml(obj: KubeObject | undefined): string {
  return obj === undefined ? '' : stringify(obj, { sortMapEntries: true, lineWidth: 0 });
}

/** Cuts `text` at a line boundary to at most `max` characters, saying how much was left out. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf('\n', max);
  const kept = text.slice(0, cut < 0 ? max : cut + 1);
  const omitted = text
    .slice(kept.length)
    .split('\n')
    .filter((l) => l !== '').length;
  return `${kept}... (${omitted} more lines)\n`;
}

/** The unified diff of one object from `before` to `after`, Secret values masked. */
export function unifiedObjectDiff(
  before: KubeObject | undefined,
  after: KubeObject | undefined,
  maxChars = MAX_OBJECT_DIFF_CHARS,
): string {
  const [b, a] = maskSecrets(before, after);
  const id = objectIdOf((after ?? before) as KubeObject);
  const label = `${id.kind}/${id.namespace === undefined ? '' : `${id.namespace}/`}${id.name}`;
  const patch = createTwoFilesPatch(
    `a/${label}`,
    `b/${label}`,
    objectYaml(b),
    objectYaml(a),
    undefined,
    undefined,
    { headerOptions: FILE_HEADERS_ONLY, context: 3 },
  );
  return capText(patch, maxChars);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compare(a, b)),
        )
      : v,
  );
}

/**
 * What changes when a cluster running `current` objects is given `candidate` ones: objects added,
 * removed, and changed (each with its unified YAML diff), in a stable order.
 */
export function diffObjects(
  current: readonly KubeObject[],
  candidate: readonly KubeObject[],
  maxObjectDiffChars = MAX_OBJECT_DIFF_CHARS,
): ObjectDiff {
  const before = new Map(current.map((o) => [objectKeyOf(objectIdOf(o)), o]));
  const after = new Map(candidate.map((o) => [objectKeyOf(objectIdOf(o)), o]));
  const added: ObjectId[] = [];
  const removed: ObjectId[] = [];
  const changed: ChangedObject[] = [];
  let unchanged = 0;
  for (const [key, obj] of after) {
    const old = before.get(key);
    if (old === undefined) {
      added.push(objectIdOf(obj));
    } else if (canonical(old) === canonical(obj)) {
      unchanged++;
    } else {
      changed.push({ ...objectIdOf(obj), diff: unifiedObjectDiff(old, obj, maxObjectDiffChars) });
    }
  }
  for (const [key, obj] of before) if (!after.has(key)) removed.push(objectIdOf(obj));
  return {
    added: sortIds(added),
    removed: sortIds(removed),
    changed: sortIds(changed),
    unchanged,
  };
}
