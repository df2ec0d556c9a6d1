// `${cluster.name}` and `${cluster.labels.KEY}` in a bundle's files (with `substitute: true`):
// finding which cluster fields a bundle references, and replacing them in rendered objects.
import { BundleError } from './errors.js';

/** A `${cluster.…}` reference; group 1 is the field after `cluster.`. */
const REFERENCE = /\$\{cluster\.([^}\s]*)\}/g;
const LABEL_KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/** True when `ref` (`cluster.name`, `cluster.labels.KEY`) names a field substitution knows. */
export function isKnownReference(ref: string): boolean {
  if (ref === 'cluster.name') return true;
  return ref.startsWith('cluster.labels.') && LABEL_KEY.test(ref.slice('cluster.labels.'.length));
}

/** The distinct `cluster.…` references in `text`, e.g. `['cluster.labels.region']`, sorted. */
export function findReferences(text: string): string[] {
  const refs = new Set<string>();
  for (const match of text.matchAll(REFERENCE)) refs.add(`cluster.${match[1] ?? ''}`);
  return [...refs].sort();
}

/** The value of a known reference for one cluster, or undefined when the cluster lacks it. */
export function referenceValue(
  ref: string,
  cluster: { name: string; labels: Record<string, string> },
): string | undefined {
  if (ref === 'cluster.name') return cluster.name;
  if (!ref.startsWith('cluster.labels.')) return undefined;
  const key = ref.slice('cluster.labels.'.length);
  return Object.hasOwn(cluster.labels, key) ? cluster.labels[key] : undefined;
}

/** Replaces every reference in one string; throws for one `values` lacks. */
export function substituteString(
  text: string,
  values: Record<string, string>,
  where: { bundle: string; what: string },
): string {
  return text.replace(REFERENCE, (_whole, field: string) => {
    const ref = `cluster.${field}`;
    if (Object.hasOwn(values, ref)) return values[ref] ?? '';
    const why = isKnownReference(ref)
      ? 'the cluster has no such label'
      : 'only ${cluster.name} and ${cluster.labels.KEY} are supported';
    throw new BundleError(
      `${where.bundle}: cannot substitute \${${ref}} in ${where.what}: ${why}`,
      { bundle: where.bundle },
    );
  });
}

/**
 * A deep copy of `value` with references replaced in every string value (keys are left alone).
 * Throws `BundleError` naming an unknown or missing reference.
 */
export function substituteValues<T>(
  value: T,
  values: Record<string, string>,
  where: { bundle: string; what: string },
): T {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return substituteString(node, values, where);
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    }
    return node;
  };
  return walk(value) as T;
}
