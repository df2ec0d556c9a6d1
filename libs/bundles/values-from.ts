// Fleet's `helm.valuesFrom`, mapped onto what the hub stores: per GitRepo, "values sources" that
// hold the data of a Secret or ConfigMap (key → YAML), set through the API and kept encrypted.
import { parseDocument } from 'yaml';
import { BundleError } from './errors.js';
import { mergeValues } from './fleet-options.js';

/** The kinds of object a values source stands for (Fleet's secretKeyRef / configMapKeyRef). */
export const ValuesSourceKind = { Secret: 'Secret', ConfigMap: 'ConfigMap' } as const;
export type ValuesSourceKind = (typeof ValuesSourceKind)[keyof typeof ValuesSourceKind];

/** Fleet's default key of a valuesFrom reference. */
export const DEFAULT_VALUES_KEY = 'values.yaml';

/** One stored values source: the data of a Secret or ConfigMap. */
export interface ValuesSource {
  kind: ValuesSourceKind;
  namespace: string;
  name: string;
  data: Record<string, string>;
}

/** One reference of `helm.valuesFrom` (Fleet's ConfigMapKeySelector / SecretKeySelector). */
export interface ValuesFromRef {
  configMapKeyRef?: { name: string; namespace?: string | undefined; key?: string | undefined };
  secretKeyRef?: { name: string; namespace?: string | undefined; key?: string | undefined };
}

/** The values sources of a GitRepo, as the render looks them up. */
export type ValuesSources = readonly ValuesSource[];

/** The key by which a reference finds its source. */
function sourceKey(kind: ValuesSourceKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/**
 * The values `helm.valuesFrom` refers to, merged in order (a later source wins), as Fleet's
 * agent merges them. A reference without a namespace uses `namespace` (the bundle's), without a
 * key `values.yaml`. A missing source or key, or data that is not a YAML map, is a
 * `BundleError` naming the reference, never the data.
 */
export function resolveValuesFrom(
  refs: readonly ValuesFromRef[],
  sources: ValuesSources,
  namespace: string,
  bundle: string,
): Record<string, unknown> {
  const byKey = new Map(sources.map((s) => [sourceKey(s.kind, s.namespace, s.name), s]));
  let values: Record<string, unknown> = {};
  refs.forEach((entry, i) => {
    const [kind, ref] =
      entry.secretKeyRef !== undefined
        ? [ValuesSourceKind.Secret, entry.secretKeyRef]
        : [ValuesSourceKind.ConfigMap, entry.configMapKeyRef];
    if (ref === undefined) return;
    const ns = ref.namespace || namespace;
    const key = ref.key || DEFAULT_VALUES_KEY;
    const where = `${bundle}: fleet.yaml helm.valuesFrom[${i}]`;
    const what = `${kind} ${ns}/${ref.name}`;
    const source = byKey.get(sourceKey(kind, ns, ref.name));
    if (source === undefined) {
      const path = `${kind === 'Secret' ? 'secrets' : 'configmaps'}/${ns}/${ref.name}`;
      throw new BundleError(
        `${where}: no ${what} among the GitRepo's values sources (set it with PUT /api/v1/gitrepos/<gitrepo>/values/${path})`,
        { bundle },
      );
    }
    const text = source.data[key];
    if (text === undefined) {
      const keys = Object.keys(source.data).sort();
      throw new BundleError(
        `${where}: ${what} has no key ${JSON.stringify(key)} (it has ${keys.length === 0 ? 'none' : keys.map((k) => JSON.stringify(k)).join(', ')})`,
        { bundle },
      );
    }
    const parsed = parseValues(text);
    if (parsed === undefined) {
      // The data may be secret: neither it nor the parser's message (which quotes it) is shown.
      throw new BundleError(
        `${where}: key ${JSON.stringify(key)} of ${what} is not a YAML map of values`,
        {
          bundle,
        },
      );
    }
    values = mergeValues(values, parsed);
  });
  return values;
}

/** YAML text as a map of values; undefined when it is not one (empty text is no values). */
function parseValues(text: string): Record<string, unknown> | undefined {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/** True when the fleet.yaml uses `helm.valuesFrom` anywhere (its own helm or a targetCustomization's). */
export function usesValuesFrom(fleet: {
  helm?: { valuesFrom?: readonly ValuesFromRef[] | undefined } | undefined;
  targetCustomizations: readonly {
    helm?: { valuesFrom?: readonly ValuesFromRef[] | undefined } | undefined;
  }[];
}): boolean {
  const uses = (h: { valuesFrom?: readonly ValuesFromRef[] | undefined } | undefined) =>
    (h?.valuesFrom?.length ?? 0) > 0;
  return uses(fleet.helm) || fleet.targetCustomizations.some((c) => uses(c.helm));
}
