// The content identity of a bundle revision: sha256 of its normalized objects and options.
import { createHash } from 'node:crypto';
import { DeploymentOptionsSchema, type DeploymentOptions } from '../contracts/delivery.js';

/** A rendered Kubernetes object (parsed YAML/JSON). */
export type KubeObject = Record<string, unknown>;

function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (child === null || child === undefined) continue;
      out[key] = dropNulls(child);
    }
    return out;
  }
  return value;
}

function field(obj: KubeObject, ...path: string[]): string {
  let node: unknown = obj;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return '';
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'string' ? node : '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * JSON with object keys sorted at every level (arrays keep their order), `undefined` properties
 * omitted: equal data gives equal text whatever the key order.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compare(a, b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Copies of the objects without null-valued properties (`metadata.creationTimestamp: null`
 * from Kustomize and Helm; nulls inside arrays are kept), sorted by apiVersion, kind, namespace
 * and name (then by content, so duplicates sort deterministically too).
 */
export function normalizeObjects(objects: readonly KubeObject[]): KubeObject[] {
  return objects
    .map((obj) => {
      const clean = dropNulls(obj) as KubeObject;
      return { clean, text: canonicalJson(clean) };
    })
    .sort(
      (a, b) =>
        compare(field(a.clean, 'apiVersion'), field(b.clean, 'apiVersion')) ||
        compare(field(a.clean, 'kind'), field(b.clean, 'kind')) ||
        compare(field(a.clean, 'metadata', 'namespace'), field(b.clean, 'metadata', 'namespace')) ||
        compare(field(a.clean, 'metadata', 'name'), field(b.clean, 'metadata', 'name')) ||
        compare(a.text, b.text),
    )
    .map(({ clean }) => clean);
}

/** A chart fetched from outside the repository that a revision was rendered from. */
export interface ChartPin {
  /** The archive's URL, or `oci://registry/repository:tag`. */
  from: string;
  name: string;
  /** The exact version (a range resolved). */
  version: string;
  /** sha256 (hex) of the chart archive. */
  digest: string;
}

/**
 * The id of a bundle revision: sha256 (hex) of the canonical JSON of the normalized objects
 * and the options (defaults applied, so an omitted flag equals its default), and of the charts
 * fetched from Helm repositories or registries when there are any (so a new chart version is a
 * new revision even when it renders the same objects). Identical content gives the same id
 * whatever the order of objects, keys or charts; any change gives another.
 */
export function revisionId(
  objects: readonly KubeObject[],
  options: Partial<DeploymentOptions>,
  charts: readonly ChartPin[] = [],
): string {
  const normalOptions = DeploymentOptionsSchema.parse(options);
  const content: Record<string, unknown> = {
    objects: normalizeObjects(objects),
    options: normalOptions,
  };
  if (charts.length > 0) {
    content.charts = charts
      .map(({ from, name, version, digest }) => ({ from, name, version, digest }))
      .sort((a, b) => compare(canonicalJson(a), canonicalJson(b)));
  }
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
