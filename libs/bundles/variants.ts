// Clusters that would get identical renders share one variant, so a bundle deployed to a
// thousand clusters with the same customizations renders once.
import { createHash } from 'node:crypto';
import type { BundleSource } from './bundle-source.js';
import { firstTargetCustomization } from './fleet-options.js';
import { matchesTarget, type ClusterGroups, type ClusterRef } from './targeting.js';
import { isKnownReference, referenceValue } from './substitution.js';

/** A group of clusters that get the same rendered bundle. */
export interface Variant {
  /** Stable id of the variant: a hash of its customizations and substitution values. */
  key: string;
  /** The clusters of the variant, sorted. */
  clusters: string[];
  /** Names of the customizations that apply, in fleet.yaml order. */
  customizations: string[];
  /** Index of the first targetCustomization that selects the clusters (Fleet), if one does. */
  targetCustomization?: number;
  /**
   * Values of the cluster fields the bundle's files reference (`cluster.name`,
   * `cluster.labels.region`, ...); a referenced label the clusters lack is absent.
   */
  substitution: Record<string, string>;
}

/**
 * Groups `clusters` (normally the ones the bundle targets) into variants: clusters with the same
 * first matching targetCustomization, the same applying customizations and the same values of
 * the referenced cluster fields share one. A cluster whose first matching targetCustomization
 * has `doNotDeploy: true` is in no variant (Fleet: the bundle is not deployed there).
 * References are the bundle's `references` (only collected with `substitute: true`). Variants
 * are sorted by their first cluster. Customizations naming unknown groups apply to no cluster.
 */
export function planVariants(
  bundle: BundleSource,
  clusters: readonly ClusterRef[],
  groups: ClusterGroups,
): Variant[] {
  const refs = bundle.fleet.substitute ? bundle.references.filter(isKnownReference) : [];
  const byKey = new Map<string, Variant>();
  // Most clusters share a few keys: each distinct one is hashed once.
  const hashed = new Map<string, string>();
  for (const cluster of clusters) {
    const targetCustomization = firstTargetCustomization(bundle.fleet, cluster, groups);
    if (
      targetCustomization !== undefined &&
      bundle.fleet.targetCustomizations[targetCustomization]?.doNotDeploy === true
    ) {
      continue;
    }
    const customizations = bundle.fleet.customizations
      .filter((c) => matchesTarget(cluster, c, groups))
      .map((c) => c.name);
    const substitution: Record<string, string> = {};
    for (const ref of refs) {
      const value = referenceValue(ref, cluster);
      if (value !== undefined) substitution[ref] = value;
    }
    const text = variantKeyText(customizations, substitution, targetCustomization);
    let key = hashed.get(text);
    if (key === undefined) {
      key = createHash('sha256').update(text).digest('hex').slice(0, 16);
      hashed.set(text, key);
    }
    const variant = byKey.get(key);
    if (variant === undefined) {
      byKey.set(key, {
        key,
        clusters: [cluster.name],
        customizations,
        ...(targetCustomization === undefined ? {} : { targetCustomization }),
        substitution,
      });
    } else {
      variant.clusters.push(cluster.name);
    }
  }
  const variants = [...byKey.values()];
  for (const v of variants) v.clusters.sort();
  const first = (v: Variant): string => v.clusters[0] ?? '';
  return variants.sort((a, b) => (first(a) < first(b) ? -1 : first(a) > first(b) ? 1 : 0));
}

/** What a variant's key is the hash of (its first 16 hex digits of sha256). */
function variantKeyText(
  customizations: string[],
  substitution: Record<string, string>,
  targetCustomization: number | undefined,
): string {
  const entries = Object.entries(substitution).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Without a targetCustomization the key is what it was before they existed.
  const parts: unknown[] = [customizations, entries];
  if (targetCustomization !== undefined) parts.push(targetCustomization);
  return JSON.stringify(parts);
}

/** Clusters named in a variant's error, at most; the rest are counted. */
const NAMED_CLUSTERS = 20;

/**
 * A variant's render error as the bundle shows it: `variant "eu" (clusters a, b; ...): <message>`,
 * `variant "base"` for clusters no customization applies to, `eu+canary` for several; a
 * targetCustomization comes first, by its name (`targetCustomizations[N]` when it has none).
 */
export function describeVariantFailure(
  variant: Pick<Variant, 'customizations' | 'substitution' | 'clusters'> &
    Partial<Pick<Variant, 'targetCustomization'>>,
  message: string,
  targetCustomizationName?: string,
): string {
  const names = [...variant.customizations];
  if (variant.targetCustomization !== undefined) {
    names.unshift(
      targetCustomizationName ?? `targetCustomizations[${variant.targetCustomization}]`,
    );
  }
  const label = names.length > 0 ? names.join('+') : 'base';
  const values = Object.entries(variant.substitution)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const more = variant.clusters.length - NAMED_CLUSTERS;
  const clusters =
    variant.clusters.slice(0, NAMED_CLUSTERS).join(', ') + (more > 0 ? ` and ${more} more` : '');
  return `variant ${JSON.stringify(label)}${values ? ` with ${values}` : ''} (clusters ${clusters}; they keep what they run): ${message}`;
}
