// Fleet's namespaceLabels, namespaceAnnotations and deleteNamespace: what the agent does with the
// bundle's target namespace (the fleet.yaml's `namespace` or `defaultNamespace`).
import { createHash } from 'node:crypto';
import { INVENTORY_NAMESPACE } from './inventory.js';
import type { KubeObject } from './types.js';

/** The deployment options these functions read (the contracts' DeploymentOptions). */
export interface NamespaceOptions {
  defaultNamespace?: string;
  namespaceLabels?: Record<string, string>;
  namespaceAnnotations?: Record<string, string>;
  deleteNamespace?: boolean;
}

/** Namespaces the agent never deletes, whatever a bundle's `deleteNamespace` says. */
export const PROTECTED_NAMESPACES: ReadonlySet<string> = new Set([
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  INVENTORY_NAMESPACE,
]);

/**
 * The Namespace the agent makes sure exists before a bundle's objects are applied, carrying only
 * the bundle's `namespaceLabels` and `namespaceAnnotations` (merged over what the namespace
 * already has); undefined when the bundle has no target namespace or sets neither.
 */
export function bundleNamespaceObject(options: NamespaceOptions): KubeObject | undefined {
  const name = options.defaultNamespace;
  const { namespaceLabels: labels, namespaceAnnotations: annotations } = options;
  if (name === undefined || name === '') return undefined;
  if (labels === undefined && annotations === undefined) return undefined;
  const metadata: Record<string, unknown> = { name };
  if (labels !== undefined) metadata.labels = { ...labels };
  if (annotations !== undefined) metadata.annotations = { ...annotations };
  return { apiVersion: 'v1', kind: 'Namespace', metadata };
}

/**
 * The namespace to delete when the bundle is removed: its target namespace with
 * `deleteNamespace: true`, unless the bundle's resources are kept (`keepResources`) or the
 * namespace is one of {@link PROTECTED_NAMESPACES}. Undefined: keep it (Fleet's default).
 */
export function namespaceToDelete(
  options: NamespaceOptions,
  keepResources: boolean,
): string | undefined {
  const name = options.defaultNamespace;
  if (options.deleteNamespace !== true || keepResources) return undefined;
  if (name === undefined || name === '' || PROTECTED_NAMESPACES.has(name)) return undefined;
  return name;
}

/**
 * The server-side apply field manager of a bundle's namespace labels and annotations: one per
 * bundle, so the labels of several bundles sharing a namespace merge, and a label a bundle
 * stops setting is removed without touching the others'.
 */
export function namespaceFieldManager(bundle: string): string {
  return `flotilla-agent-ns-${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}`;
}
