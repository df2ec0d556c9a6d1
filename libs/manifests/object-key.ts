import { isPlainObject, metadataOf, type KubeObject } from './types.js';

/**
 * Kinds that are known to be cluster-scoped (they have no namespace). Everything else is taken
 * to be namespaced, which holds for the resources bundles carry almost always; a custom
 * cluster-scoped kind simply keeps the namespace it was given.
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'IngressClass',
  'RuntimeClass',
]);

/** The namespace Kubernetes puts a namespaced object in when neither it nor the bundle names one. */
export const KUBERNETES_DEFAULT_NAMESPACE = 'default';

/** An object that cannot be applied: no `apiVersion`, `kind` or `metadata.name`, or a bad type. */
export class InvalidObjectError extends Error {
  override readonly name = 'InvalidObjectError';
}

/** The identity of an object within a cluster. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

/** True when the object (or kind) is one of the {@link CLUSTER_SCOPED_KINDS}. */
export function isClusterScoped(objOrKind: KubeObject | string): boolean {
  const kind = typeof objOrKind === 'string' ? objOrKind : objOrKind.kind;
  return typeof kind === 'string' && CLUSTER_SCOPED_KINDS.has(kind);
}

/**
 * Why the object cannot be applied, or undefined when it can: it must be a JSON object with a
 * non-empty string `apiVersion`, `kind` and `metadata.name` (without `/`), and a string
 * `metadata.namespace` if it has one.
 */
export function objectProblem(obj: unknown): string | undefined {
  if (!isPlainObject(obj)) return 'not a JSON object';
  const o = obj as KubeObject;
  if (typeof o.apiVersion !== 'string' || o.apiVersion.trim() === '') return 'no apiVersion';
  if (typeof o.kind !== 'string' || o.kind.trim() === '') return 'no kind';
  const meta = metadataOf(o);
  if (meta === undefined) return `${o.kind} without metadata`;
  if (typeof meta.name !== 'string' || meta.name === '') return `${o.kind} without metadata.name`;
  if (meta.name.includes('/')) return `${o.kind} "${meta.name}": metadata.name may not contain "/"`;
  if (
    meta.namespace !== undefined &&
    (typeof meta.namespace !== 'string' || meta.namespace.includes('/'))
  ) {
    return `${o.kind} ${meta.name}: invalid metadata.namespace`;
  }
  return undefined;
}

/**
 * The object's identity: cluster-scoped objects have no namespace; a namespaced object without
 * one gets `defaultNamespace`, else `default`. Throws {@link InvalidObjectError} for an object
 * {@link objectProblem} rejects.
 */
export function objectRef(obj: KubeObject, defaultNamespace?: string): ObjectRef {
  const problem = objectProblem(obj);
  if (problem !== undefined) throw new InvalidObjectError(problem);
  const apiVersion = obj.apiVersion as string;
  const kind = obj.kind as string;
  const meta = metadataOf(obj)!;
  const name = meta.name as string;
  if (isClusterScoped(kind)) return { apiVersion, kind, name };
  const own =
    typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  const namespace = own ?? (defaultNamespace || KUBERNETES_DEFAULT_NAMESPACE);
  return { apiVersion, kind, namespace, name };
}

/**
 * `apiVersion/kind/namespace/name` (namespace empty for cluster-scoped objects), e.g.
 * `apps/v1/Deployment/web/api` or `v1/Namespace//web`. Throws {@link InvalidObjectError} for an
 * invalid object.
 */
export function objectKey(obj: KubeObject, defaultNamespace?: string): string {
  return formatObjectKey(objectRef(obj, defaultNamespace));
}

/** The key of an {@link ObjectRef}. */
export function formatObjectKey(ref: ObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** The {@link ObjectRef} of a key made by {@link objectKey}; throws for anything else. */
export function parseObjectKey(key: string): ObjectRef {
  const parts = key.split('/');
  if (parts.length < 4 || parts.length > 5) throw new Error(`invalid object key "${key}"`);
  const name = parts.pop()!;
  const namespace = parts.pop()!;
  const kind = parts.pop()!;
  const apiVersion = parts.join('/');
  if (name === '' || kind === '' || apiVersion === '')
    throw new Error(`invalid object key "${key}"`);
  return namespace === '' ? { apiVersion, kind, name } : { apiVersion, kind, namespace, name };
}

/** `Kind name` for messages, e.g. `Deployment web`. */
export function describeRef(ref: Pick<ObjectRef, 'kind' | 'name'>): string {
  return `${ref.kind} ${ref.name}`;
}
