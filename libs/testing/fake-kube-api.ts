import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  appliedFieldsOf,
  changedFields,
  childPath,
  fieldPaths,
  fieldSchemaOf,
  fieldsOf,
  formatFieldPath,
  intersectFields,
  isPlainObject,
  itemMatchesKey,
  listItemSegment,
  managedFieldsOf,
  mergeFields,
  removeFields,
  type FieldSchema,
  type FieldsV1,
  type KubeObject,
  type ManagedFieldsEntry,
} from '../manifests/index.js';
import { applyDefaults, type DefaultingContext } from './kube-defaults.js';

/** A resource type the fake serves. */
interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** Names an object in the fake: its apiVersion, kind, namespace (namespaced kinds) and name. */
export interface FakeObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** A request the fake received (for tests that count them). */
export interface FakeRequest {
  method: string;
  path: string;
  contentType: string | undefined;
}

interface Stored {
  type: ResourceType;
  object: KubeObject;
}

interface WatchStream {
  typeId: string;
  namespace: string | undefined;
  selector: (labels: Record<string, string>) => boolean;
  res: ServerResponse;
}

interface Event {
  rv: number;
  typeId: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

const BUILTIN_TYPES: ResourceType[] = [
  t('', 'v1', 'Namespace', 'namespaces', false),
  t('', 'v1', 'ConfigMap', 'configmaps', true),
  t('', 'v1', 'Secret', 'secrets', true),
  t('', 'v1', 'Service', 'services', true),
  t('', 'v1', 'ServiceAccount', 'serviceaccounts', true),
  t('', 'v1', 'Pod', 'pods', true),
  t('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true),
  t('apps', 'v1', 'Deployment', 'deployments', true),
  t('apps', 'v1', 'StatefulSet', 'statefulsets', true),
  t('apps', 'v1', 'DaemonSet', 'daemonsets', true),
  t('apps', 'v1', 'ReplicaSet', 'replicasets', true),
  t('batch', 'v1', 'Job', 'jobs', true),
  t('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  t('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  t('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  t('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  t('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
];

function t(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
): ResourceType {
  return { group, version, kind, plural, namespaced };
}

const groupVersion = (type: Pick<ResourceType, 'group' | 'version'>): string =>
  type.group === '' ? type.version : `${type.group}/${type.version}`;
const typeId = (type: Pick<ResourceType, 'group' | 'plural'>): string =>
  `${type.group}/${type.plural}`;

/** How many watch events the fake keeps to resume watches from (older ones get 410 Gone). */
const EVENT_HISTORY = 1_000;

/** Options of {@link FakeKubeApi.start}. */
export interface FakeKubeApiOptions {
  /** How long after it is applied a CRD becomes Established (and served); default 0. */
  crdEstablishDelayMs?: number;
  /** `gitVersion` of `/version`; default `v1.31.0-fake`. */
  gitVersion?: string;
}

/**
 * A small wire-level fake of a Kubernetes API server on 127.0.0.1 (a free port), for the agent's
 * Kubernetes driver tests: `/version`, discovery (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`,
 * including types registered by CustomResourceDefinitions once Established), GET and LIST (with
 * equality label selectors), server-side apply PATCH (`application/apply-patch+yaml`: merges the
 * applied configuration, drops fields the manager applied before and no longer applies, records
 * `managedFields`, refuses conflicts with other managers with the API server's 409 unless
 * `force`, and is a no-op — same resourceVersion — when nothing changes; `dryRun=All` stores
 * nothing), JSON merge PATCH and PUT as another field manager (operation `Update`), DELETE (a Namespace
 * or CRD takes its objects along), and WATCH streams (`?watch=true`, newline-delimited JSON
 * events, resumable from a resourceVersion, 410 Gone when too old). Like a real API server it
 * fills in the defaults of common built-in kinds (`kube-defaults.ts`: port `protocol`,
 * `imagePullPolicy`, a Deployment's `strategy`, a Service's `clusterIP`, ...) and merges the
 * lists it keys (ports, containers, env, volumes, ... see `fieldSchemaOf`) item by item, keyed
 * in managedFields as `k:{...}`; other lists are atomic. There is no validation or admission,
 * and deletion is immediate. Test hooks change objects as another field manager
 * ({@link editAs}) and set their status ({@link setStatus}).
 */
export class FakeKubeApi {
  /** Every request received, in order. */
  readonly requests: FakeRequest[] = [];
  private readonly types = new Map<string, ResourceType>();
  private readonly objects = new Map<string, Stored>();
  private readonly events: Event[] = [];
  private readonly watches = new Set<WatchStream>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private resourceVersion = 1;
  private nextClusterIP = 1;
  /** ClusterIPs come from 10.0.0.0/16, one per Service created. */
  private readonly defaulting: DefaultingContext = {
    allocateClusterIP: () => {
      const n = this.nextClusterIP++;
      return `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`;
    },
  };

  private constructor(
    private readonly server: Server,
    private readonly options: FakeKubeApiOptions,
  ) {
    for (const type of BUILTIN_TYPES) this.types.set(`${groupVersion(type)}/${type.kind}`, type);
  }

  /** Starts a fake API server on a free port of 127.0.0.1. */
  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const server = createServer((req, res) => {
      void api.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', String(err));
        else res.end();
      });
    });
    const api = new FakeKubeApi(server, options);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return api;
  }

  /** The server URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig (YAML) that points at this server with a bearer token. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: fake',
      `    cluster: {server: "${this.url}", insecure-skip-tls-verify: true}`,
      'users:',
      '  - name: fake',
      '    user: {token: fake-token}',
      'contexts:',
      '  - name: fake',
      '    context: {cluster: fake, user: fake}',
      'current-context: fake',
      '',
    ].join('\n');
  }

  /** Writes {@link kubeconfig} to `dir/kubeconfig` and returns its path. */
  async writeKubeconfig(dir: string): Promise<string> {
    const path = join(dir, 'kubeconfig');
    await writeFile(path, this.kubeconfig());
    return path;
  }

  /** A copy of the stored object, or undefined. */
  get(ref: FakeObjectRef): KubeObject | undefined {
    if (!this.types.has(`${ref.apiVersion}/${ref.kind}`)) return undefined;
    const stored = this.objects.get(this.storageKeyOf(ref));
    return stored === undefined ? undefined : structuredClone(stored.object);
  }

  /** Copies of every stored object of a kind. */
  list(apiVersion: string, kind: string): KubeObject[] {
    const type = this.typeOf(apiVersion, kind);
    return [...this.objects.values()]
      .filter((s) => typeId(s.type) === typeId(type))
      .map((s) => structuredClone(s.object));
  }

  /**
   * Test hook: changes an object as `manager` would with an update (`kubectl edit`): the fields
   * whose values change move to `manager` (an `Update` entry of managedFields).
   */
  editAs(manager: string, ref: FakeObjectRef, edit: (object: KubeObject) => void): KubeObject {
    const key = this.storageKeyOf(ref);
    const stored = this.objects.get(key);
    if (stored === undefined) throw new Error(`no object ${key}`);
    const after = structuredClone(stored.object);
    edit(after);
    return this.update(manager, stored, key, after);
  }

  /** Test hook: replaces the object's `status` (as its controller would), e.g. a Deployment's. */
  setStatus(ref: FakeObjectRef, status: Record<string, unknown>): KubeObject {
    const key = this.storageKeyOf(ref);
    const stored = this.objects.get(key);
    if (stored === undefined) throw new Error(`no object ${key}`);
    const after = { ...structuredClone(stored.object), status: structuredClone(status) };
    return structuredClone(this.commit(stored.type, key, after, stored.object).object);
  }

  /** Test hook: deletes an object behind its owner's back. */
  remove(ref: FakeObjectRef): void {
    const key = this.storageKeyOf(ref);
    const stored = this.objects.get(key);
    if (stored === undefined) throw new Error(`no object ${key}`);
    this.deleteStored(key, stored);
  }

  /** Test hook: ends every open watch stream (clients must re-establish them). */
  dropWatches(): void {
    for (const watch of this.watches) watch.res.end();
    this.watches.clear();
  }

  /** How many watch streams are open. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Stops the server and ends every watch. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, contentType: req.headers['content-type'] });
    const body = await readBody(req);
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    if (url.pathname === '/version') {
      return sendJson(res, 200, {
        major: '1',
        minor: '31',
        gitVersion: this.options.gitVersion ?? 'v1.31.0-fake',
      });
    }
    if (parts[0] === 'api' && parts.length === 1) {
      return sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'] });
    }
    if (parts[0] === 'apis' && parts.length === 1) return sendJson(res, 200, this.groupList());
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] !== undefined) {
      [group, version, rest] = ['', parts[1], parts.slice(2)];
    } else if (parts[0] === 'apis' && parts[1] !== undefined && parts[2] !== undefined) {
      [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
    } else {
      return sendStatus(res, 404, 'NotFound', `the server could not find ${url.pathname}`);
    }
    const served = [...this.types.values()].filter(
      (x) => x.group === group && x.version === version,
    );
    if (served.length === 0) {
      return sendStatus(res, 404, 'NotFound', `the server could not find ${url.pathname}`);
    }
    if (rest.length === 0) {
      return sendJson(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: groupVersion({ group, version }),
        resources: served.map((x) => ({
          name: x.plural,
          singularName: x.kind.toLowerCase(),
          namespaced: x.namespaced,
          kind: x.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      });
    }
    let namespace: string | undefined;
    let plural: string | undefined;
    let name: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      [namespace, plural, name] = [rest[1], rest[2], rest[3]];
    } else {
      [plural, name] = [rest[0], rest[1]];
    }
    const type = served.find((x) => x.plural === plural);
    if (type === undefined || (namespace !== undefined && !type.namespaced)) {
      return sendStatus(res, 404, 'NotFound', `the server could not find ${url.pathname}`);
    }
    if (name === undefined) {
      if (method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', `${method} on a list`);
      const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
        return this.watch(type, namespace, selector, url.searchParams, res);
      }
      const items = this.select(type, namespace, selector).map((o) => this.asVersion(o, type));
      return sendJson(res, 200, {
        kind: `${type.kind}List`,
        apiVersion: groupVersion(type),
        metadata: { resourceVersion: String(this.resourceVersion) },
        items,
      });
    }
    if (type.namespaced && namespace === undefined) {
      return sendStatus(res, 404, 'NotFound', `the server could not find ${url.pathname}`);
    }
    const key = storageKey(type, namespace, name);
    const stored = this.objects.get(key);
    switch (method) {
      case 'GET':
        return stored === undefined
          ? notFound(res, type, name)
          : sendJson(res, 200, this.asVersion(stored.object, type));
      case 'DELETE':
        if (stored === undefined) return notFound(res, type, name);
        this.deleteStored(key, stored);
        return sendJson(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Success',
          details: { name, kind: type.plural },
        });
      case 'PUT':
        return this.replace(type, key, name, stored, body, url.searchParams, res);
      case 'PATCH':
        if (req.headers['content-type'] === 'application/merge-patch+json') {
          return this.mergePatch(type, key, stored, body, url.searchParams, res);
        }
        return this.apply(type, namespace, name, stored, body, url.searchParams, req, res);
      default:
        return sendStatus(res, 405, 'MethodNotAllowed', `${method} is not supported by the fake`);
    }
  }

  private apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    stored: Stored | undefined,
    body: string,
    params: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    if (req.headers['content-type'] !== 'application/apply-patch+yaml') {
      return sendStatus(
        res,
        415,
        'UnsupportedMediaType',
        'the fake serves server-side apply and JSON merge patches only',
      );
    }
    const manager = params.get('fieldManager');
    if (manager === null || manager === '') {
      return sendStatus(res, 400, 'BadRequest', 'fieldManager is required for apply requests');
    }
    let config: unknown;
    try {
      config = parseYaml(body);
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', `cannot parse the patch: ${String(err)}`);
    }
    if (!isPlainObject(config) || !isPlainObject(config.metadata)) {
      return sendStatus(res, 400, 'BadRequest', 'the patch is not an object with metadata');
    }
    if (config.apiVersion !== groupVersion(type) || config.kind !== type.kind) {
      return sendStatus(
        res,
        400,
        'BadRequest',
        `the patch is a ${String(config.apiVersion)} ${String(config.kind)}, not a ${groupVersion(type)} ${type.kind}`,
      );
    }
    if (config.metadata.name !== name) {
      return sendStatus(res, 400, 'BadRequest', 'metadata.name does not match the URL');
    }
    if (namespace !== undefined) {
      if (!this.objects.has(storageKey(this.typeOf('v1', 'Namespace'), undefined, namespace))) {
        return sendStatus(res, 404, 'NotFound', `namespaces "${namespace}" not found`);
      }
      config.metadata.namespace = namespace;
    }
    const force = params.get('force') === 'true';
    const { status: _ignored, ...applied } = config;
    const before = stored?.object;
    const schema = fieldSchemaOf(applied);
    const owned = fieldsOf(applied);
    const entries = before === undefined ? [] : managedFieldsOf(before);
    const others = entries.filter((e) => !(e.manager === manager && e.operation === 'Apply'));
    const conflicts: { entry: ManagedFieldsEntry; path: string[] }[] = [];
    for (const entry of others) {
      for (const path of fieldPaths(intersectFields(entry.fieldsV1 ?? {}, owned))) {
        const live = valueAt(before!, path, schema);
        if (JSON.stringify(live) !== JSON.stringify(valueAt(applied, path, schema))) {
          conflicts.push({ entry, path });
        }
      }
    }
    if (conflicts.length > 0 && !force) return sendConflict(res, conflicts);
    const taken: FieldsV1 = {};
    for (const c of conflicts) setPath(taken, c.path);
    const othersOwned = others.reduce<FieldsV1>(
      (all, e) => mergeFields(all, removeFields(e.fieldsV1 ?? {}, taken)),
      {},
    );
    const released = removeFields(
      removeFields(before === undefined ? {} : (appliedFieldsOf(before, manager) ?? {}), owned),
      othersOwned,
    );
    const after = structuredClone(before ?? { apiVersion: applied.apiVersion, kind: type.kind });
    deleteFields(after, released, schema, '');
    mergeInto(after, structuredClone(applied), schema, '');
    applyDefaults(after, this.defaulting);
    const entry: ManagedFieldsEntry = {
      manager,
      operation: 'Apply',
      apiVersion: groupVersion(type),
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: owned,
    };
    meta(after).managedFields = [
      ...others
        .map((e) => ({ ...e, fieldsV1: removeFields(e.fieldsV1 ?? {}, taken) }))
        .filter((e) => Object.keys(e.fieldsV1).length > 0),
      entry,
    ];
    const key = storageKey(type, namespace, name);
    const result = dryRun(params)
      ? this.preview(after, before)
      : this.commit(type, key, after, before).object;
    sendJson(res, before === undefined ? 201 : 200, this.asVersion(result, type));
  }

  /**
   * A JSON merge patch (`application/merge-patch+json`, RFC 7386) as `fieldManager` (default
   * `unknown`): an update, so the fields whose values change move to that manager (operation
   * `Update`), as `kubectl patch --type=merge` or `kubectl edit` do.
   */
  private mergePatch(
    type: ResourceType,
    key: string,
    stored: Stored | undefined,
    body: string,
    params: URLSearchParams,
    res: ServerResponse,
  ): void {
    if (stored === undefined) return notFound(res, type, key.split('/').pop()!);
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', `cannot parse the patch: ${String(err)}`);
    }
    if (!isPlainObject(patch)) {
      return sendStatus(res, 400, 'BadRequest', 'a merge patch must be a JSON object');
    }
    const after = applyMergePatch(stored.object, patch) as KubeObject;
    const manager = params.get('fieldManager') || 'unknown';
    const result = this.update(manager, stored, key, after, dryRun(params));
    sendJson(res, 200, this.asVersion(result, type));
  }

  /**
   * A PUT as `fieldManager` (default `unknown`), as `kubectl replace` or a controller's update
   * do: the object replaces the stored one (its status and server-set metadata are kept; its
   * `managedFields` are the stored ones when it leaves them out), an update like a merge
   * patch's, so the fields whose values change move to that manager. A `resourceVersion` other
   * than the stored one is the API server's 409 Conflict; another name is a 400.
   */
  private replace(
    type: ResourceType,
    key: string,
    name: string,
    stored: Stored | undefined,
    body: string,
    params: URLSearchParams,
    res: ServerResponse,
  ): void {
    if (stored === undefined) return notFound(res, type, name);
    let object: unknown;
    try {
      object = JSON.parse(body);
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', `cannot parse the object: ${String(err)}`);
    }
    if (!isPlainObject(object) || !isPlainObject(object.metadata)) {
      return sendStatus(res, 400, 'BadRequest', 'the object must be a JSON object with metadata');
    }
    const m = object.metadata;
    if (m.name !== name) {
      return sendStatus(
        res,
        400,
        'BadRequest',
        `the name of the object (${String(m.name)}) does not match the name on the URL (${name})`,
      );
    }
    const current = meta(stored.object);
    if (m.resourceVersion !== undefined && m.resourceVersion !== current.resourceVersion) {
      return sendStatus(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const after = structuredClone(object) as KubeObject;
    for (const field of ['uid', 'creationTimestamp', 'resourceVersion', 'generation'] as const) {
      if (current[field] === undefined) delete meta(after)[field];
      else meta(after)[field] = current[field];
    }
    if (!Array.isArray(m.managedFields)) meta(after).managedFields = current.managedFields;
    if (stored.object.status === undefined) delete after.status;
    else after.status = structuredClone(stored.object.status);
    const manager = params.get('fieldManager') || 'unknown';
    const result = this.update(manager, stored, key, after, dryRun(params));
    sendJson(res, 200, this.asVersion(result, type));
  }

  /**
   * Stores `after` as an update by `manager`: the API server's defaults, and the fields whose
   * values change move to `manager` (an `Update` entry of managedFields).
   */
  private update(
    manager: string,
    stored: Stored,
    key: string,
    edited: KubeObject,
    preview = false,
  ): KubeObject {
    const before = stored.object;
    const after = structuredClone(edited);
    applyDefaults(after, this.defaulting);
    const changed = changedFields(before, after);
    const gained = changedFields(before, after, { includeRemoved: false });
    const entries = managedFieldsOf(before)
      .map((e) =>
        e.manager === manager && e.operation === 'Update'
          ? e
          : { ...e, fieldsV1: removeFields(e.fieldsV1 ?? {}, changed) },
      )
      .filter((e) => Object.keys(e.fieldsV1 ?? {}).length > 0);
    const own = entries.find((e) => e.manager === manager && e.operation === 'Update');
    const updated: ManagedFieldsEntry = {
      manager,
      operation: 'Update',
      apiVersion: String(after.apiVersion),
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: mergeFields(own?.fieldsV1 ?? {}, gained),
    };
    const kept = entries.filter((e) => e !== own);
    meta(after).managedFields =
      Object.keys(updated.fieldsV1 ?? {}).length > 0 ? [...kept, updated] : kept;
    if (preview) return this.preview(after, before);
    return structuredClone(this.commit(stored.type, key, after, before).object);
  }

  /** What a dry run answers: the object as it would be stored, nothing stored or announced. */
  private preview(after: KubeObject, before: KubeObject | undefined): KubeObject {
    if (before !== undefined && sameContent(before, after)) return structuredClone(before);
    const m = meta(after);
    const previous = before === undefined ? {} : meta(before);
    m.uid = previous.uid ?? randomUUID();
    m.creationTimestamp = previous.creationTimestamp ?? now();
    if (previous.resourceVersion !== undefined) m.resourceVersion = previous.resourceVersion;
    else delete m.resourceVersion;
    if (tracksGeneration(this.typeOf(String(after.apiVersion), String(after.kind)))) {
      m.generation = typeof previous.generation === 'number' ? previous.generation : 1;
    }
    return after;
  }

  /** Stores a new version (unless nothing changed), with server fields, and tells the watches. */
  private commit(
    type: ResourceType,
    key: string,
    object: KubeObject,
    before: KubeObject | undefined,
  ): Stored {
    if (before !== undefined && sameContent(before, object)) return this.objects.get(key)!;
    const m = meta(object);
    const previous = before === undefined ? {} : meta(before);
    const rv = ++this.resourceVersion;
    m.uid = previous.uid ?? randomUUID();
    m.creationTimestamp = previous.creationTimestamp ?? now();
    m.resourceVersion = String(rv);
    const generation = typeof previous.generation === 'number' ? previous.generation : 0;
    if (tracksGeneration(type)) {
      m.generation =
        before === undefined ? 1 : specChanged(before, object) ? generation + 1 : generation;
    }
    const stored = { type, object };
    this.objects.set(key, stored);
    this.emit(type, before === undefined ? 'ADDED' : 'MODIFIED', object, rv);
    if (type.kind === 'CustomResourceDefinition') this.crdChanged(object);
    return stored;
  }

  private deleteStored(key: string, stored: Stored): void {
    this.objects.delete(key);
    const rv = ++this.resourceVersion;
    const object = structuredClone(stored.object);
    meta(object).resourceVersion = String(rv);
    this.emit(stored.type, 'DELETED', object, rv);
    if (stored.type.kind === 'Namespace') {
      const ns = String(meta(stored.object).name);
      for (const [k, s] of [...this.objects]) {
        if (s.type.namespaced && meta(s.object).namespace === ns) this.deleteStored(k, s);
      }
    }
    if (stored.type.kind === 'CustomResourceDefinition') {
      const spec = isPlainObject(stored.object.spec) ? stored.object.spec : {};
      for (const [k, s] of [...this.objects]) {
        if (s.type.group === spec.group && s.type.kind === crdNames(stored.object).kind) {
          this.deleteStored(k, s);
        }
      }
      for (const [k, type] of [...this.types]) {
        if (type.group === spec.group && type.kind === crdNames(stored.object).kind) {
          this.types.delete(k);
        }
      }
    }
  }

  /** Serves a CRD's types once it is Established (after `crdEstablishDelayMs`). */
  private crdChanged(crd: KubeObject): void {
    const spec = isPlainObject(crd.spec) ? crd.spec : {};
    const names = crdNames(crd);
    const name = String(meta(crd).name);
    const establish = (): void => {
      const key = storageKey(
        this.typeOf('apiextensions.k8s.io/v1', 'CustomResourceDefinition'),
        undefined,
        name,
      );
      const stored = this.objects.get(key);
      if (stored === undefined) return;
      for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
        if (!isPlainObject(v) || typeof v.name !== 'string' || v.served === false) continue;
        const type = t(
          String(spec.group),
          v.name,
          names.kind,
          names.plural,
          spec.scope !== 'Cluster',
        );
        this.types.set(`${groupVersion(type)}/${type.kind}`, type);
      }
      const status = isPlainObject(stored.object.status) ? stored.object.status : {};
      if (Array.isArray(status.conditions)) return;
      const now = new Date().toISOString();
      this.setStatus(
        { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name },
        {
          acceptedNames: { kind: names.kind, plural: names.plural },
          conditions: [
            {
              type: 'NamesAccepted',
              status: 'True',
              reason: 'NoConflicts',
              lastTransitionTime: now,
            },
            {
              type: 'Established',
              status: 'True',
              reason: 'InitialNamesAccepted',
              lastTransitionTime: now,
            },
          ],
        },
      );
    };
    const delay = this.options.crdEstablishDelayMs ?? 0;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      establish();
    }, delay);
    this.timers.add(timer);
  }

  private emit(type: ResourceType, eventType: Event['type'], object: KubeObject, rv: number): void {
    const event: Event = {
      rv,
      typeId: typeId(type),
      type: eventType,
      object: structuredClone(object),
    };
    this.events.push(event);
    if (this.events.length > EVENT_HISTORY) this.events.shift();
    for (const watch of this.watches) this.send(watch, event, type);
  }

  private send(watch: WatchStream, event: Event, type: ResourceType): void {
    if (watch.typeId !== event.typeId) return;
    const m = meta(event.object);
    if (watch.namespace !== undefined && m.namespace !== watch.namespace) return;
    if (!watch.selector(stringRecord(m.labels))) return;
    watch.res.write(
      `${JSON.stringify({ type: event.type, object: this.asVersion(event.object, type) })}\n`,
    );
  }

  private watch(
    type: ResourceType,
    namespace: string | undefined,
    selector: (labels: Record<string, string>) => boolean,
    params: URLSearchParams,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const stream: WatchStream = { typeId: typeId(type), namespace, selector, res };
    const from = params.get('resourceVersion');
    if (from === null || from === '' || from === '0') {
      for (const object of this.select(type, namespace, selector)) {
        this.send(stream, { rv: 0, typeId: typeId(type), type: 'ADDED', object }, type);
      }
    } else {
      const since = Number(from);
      const oldest = this.events[0]?.rv ?? this.resourceVersion + 1;
      if (!Number.isInteger(since) || since < oldest - 1) {
        res.end(
          `${JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              reason: 'Expired',
              code: 410,
              message: `too old resource version: ${from}`,
            },
          })}\n`,
        );
        return;
      }
      for (const event of this.events) if (event.rv > since) this.send(stream, event, type);
    }
    this.watches.add(stream);
    res.on('close', () => this.watches.delete(stream));
    const timeout = Number(params.get('timeoutSeconds') ?? '0');
    if (timeout > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.watches.delete(stream);
        res.end();
      }, timeout * 1000);
      this.timers.add(timer);
    }
  }

  private select(
    type: ResourceType,
    namespace: string | undefined,
    selector: (labels: Record<string, string>) => boolean,
  ): KubeObject[] {
    return [...this.objects.values()]
      .filter((s) => typeId(s.type) === typeId(type))
      .map((s) => s.object)
      .filter((o) => namespace === undefined || meta(o).namespace === namespace)
      .filter((o) => selector(stringRecord(meta(o).labels)))
      .map((o) => structuredClone(o));
  }

  private groupList(): unknown {
    const groups = new Map<string, Set<string>>();
    for (const type of this.types.values()) {
      if (type.group === '') continue;
      const versions = groups.get(type.group) ?? new Set<string>();
      versions.add(type.version);
      groups.set(type.group, versions);
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, versions]) => {
        const list = [...versions].map((version) => ({
          groupVersion: `${name}/${version}`,
          version,
        }));
        return { name, versions: list, preferredVersion: list[0] };
      }),
    };
  }

  private asVersion(object: KubeObject, type: ResourceType): KubeObject {
    return { ...structuredClone(object), apiVersion: groupVersion(type) };
  }

  private typeOf(apiVersion: string, kind: string): ResourceType {
    const type = this.types.get(`${apiVersion}/${kind}`);
    if (type === undefined) throw new Error(`the fake does not serve ${apiVersion} ${kind}`);
    return type;
  }

  private storageKeyOf(ref: FakeObjectRef): string {
    const type = this.typeOf(ref.apiVersion, ref.kind);
    return storageKey(type, type.namespaced ? (ref.namespace ?? 'default') : undefined, ref.name);
  }
}

function storageKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return `${typeId(type)}/${namespace ?? ''}/${name}`;
}

function meta(object: KubeObject): Record<string, unknown> {
  if (!isPlainObject(object.metadata)) object.metadata = {};
  return object.metadata as Record<string, unknown>;
}

function crdNames(crd: KubeObject): { kind: string; plural: string } {
  const spec = isPlainObject(crd.spec) ? crd.spec : {};
  const names = isPlainObject(spec.names) ? spec.names : {};
  return { kind: String(names.kind), plural: String(names.plural) };
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Equality selectors: `a=b`, `a==b`, `a!=b`, `a` (exists), `!a`, joined by commas. */
function parseSelector(text: string): (labels: Record<string, string>) => boolean {
  const tests = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((term): ((labels: Record<string, string>) => boolean) => {
      const ne = /^([^!=]+)!=(.*)$/.exec(term);
      if (ne) return (l) => l[ne[1]!.trim()] !== ne[2]!.trim();
      const eq = /^([^!=]+)==?(.*)$/.exec(term);
      if (eq) return (l) => l[eq[1]!.trim()] === eq[2]!.trim();
      if (term.startsWith('!')) return (l) => !(term.slice(1) in l);
      return (l) => term in l;
    });
  return (labels) => tests.every((test) => test(labels));
}

/** The object without server-set fields that change on every write, for no-op detection. */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): unknown => {
    const copy = structuredClone(o);
    const m = meta(copy);
    delete m.resourceVersion;
    if (Array.isArray(m.managedFields)) {
      m.managedFields = m.managedFields.map((e: unknown) =>
        isPlainObject(e) ? { ...e, time: undefined } : e,
      );
    }
    return copy;
  };
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/**
 * True for the kinds whose `metadata.generation` the API server keeps (workloads, Pods, CRDs
 * and custom resources; not ConfigMaps, Services, RBAC, ...).
 */
function tracksGeneration(type: ResourceType): boolean {
  if (type.group === '') return type.kind === 'Pod';
  return type.group !== 'rbac.authorization.k8s.io';
}

/** True when anything beyond metadata and status changed (what bumps `generation`). */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const rest = (o: KubeObject): unknown => {
    const { metadata: _m, status: _s, ...others } = o;
    return others;
  };
  return JSON.stringify(rest(a)) !== JSON.stringify(rest(b));
}

/** The value at a field path (`f:` and `k:` segments), or undefined. */
function valueAt(object: unknown, path: readonly string[], schema: FieldSchema): unknown {
  let value = object;
  let at = '';
  for (const segment of path) {
    if (segment.startsWith('f:')) {
      if (!isPlainObject(value)) return undefined;
      value = value[segment.slice(2)];
      at = childPath(at, segment.slice(2));
    } else if (segment.startsWith('k:')) {
      if (!Array.isArray(value)) return undefined;
      const map = schema.listMap(at);
      value = value.find((item) => itemMatchesKey(segment, item, map));
      at = `${at}[]`;
    } else {
      return undefined;
    }
  }
  return value;
}

function setPath(set: FieldsV1, path: readonly string[]): void {
  let node = set;
  for (const segment of path) node = node[segment] ??= {};
}

/**
 * Deletes the fields of `set` (leaves) from the object; a list-map item whose `.` is in the set
 * goes as a whole.
 */
function deleteFields(
  object: Record<string, unknown>,
  set: FieldsV1,
  schema: FieldSchema,
  path: string,
): void {
  for (const [segment, children] of Object.entries(set)) {
    if (!segment.startsWith('f:')) continue;
    const key = segment.slice(2);
    const at = childPath(path, key);
    const value = object[key];
    if (Object.keys(children).length === 0) delete object[key];
    else if (isPlainObject(value)) deleteFields(value, children, schema, at);
    else if (Array.isArray(value)) {
      const map = schema.listMap(at);
      object[key] = value.filter((item) => {
        const released = Object.entries(children).find(([k]) => itemMatchesKey(k, item, map));
        if (released === undefined) return true;
        const [, fields] = released;
        if (fields['.'] !== undefined) return false;
        if (isPlainObject(item)) deleteFields(item, fields, schema, `${at}[]`);
        return true;
      });
    }
  }
}

/**
 * Merges an applied configuration into `target`: maps merge (but atomic ones), items of a
 * list-map merge by key, other lists and scalars replace.
 */
function mergeInto(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
  schema: FieldSchema,
  path: string,
): void {
  for (const [key, value] of Object.entries(patch)) {
    const at = childPath(path, key);
    const current = target[key];
    const map = schema.listMap(at);
    if (isPlainObject(value) && isPlainObject(current) && !schema.atomic(at)) {
      mergeInto(current, value, schema, at);
    } else if (Array.isArray(value) && Array.isArray(current) && map !== undefined) {
      const merged = [...current];
      for (const item of value) {
        const segment = listItemSegment(map, item);
        const match = merged.find((l) => segment !== undefined && itemMatchesKey(segment, l, map));
        if (isPlainObject(match) && isPlainObject(item)) mergeInto(match, item, schema, `${at}[]`);
        else merged.push(item);
      }
      target[key] = merged;
    } else {
      target[key] = value;
    }
  }
}

/** RFC 7386: maps merge, `null` deletes, everything else replaces. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

function dryRun(params: URLSearchParams): boolean {
  return params.getAll('dryRun').includes('All');
}

/** Seconds precision, as the API server writes timestamps. */
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How the API server names a manager in a conflict: `"kubectl-patch" using v1` for an update. */
function describeManager(entry: ManagedFieldsEntry): string {
  const name = JSON.stringify(entry.manager);
  return entry.operation === 'Update' ? `${name} using ${entry.apiVersion ?? ''}` : name;
}

/** The 409 `Status` of an apply that conflicts with other managers, as the API server words it. */
function sendConflict(
  res: ServerResponse,
  conflicts: readonly { entry: ManagedFieldsEntry; path: string[] }[],
): void {
  let message: string;
  if (conflicts.length === 1) {
    const [c] = conflicts;
    message = `Apply failed with 1 conflict: conflict with ${describeManager(c!.entry)}: ${formatFieldPath(c!.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const name = describeManager(c.entry);
      byManager.set(name, [...(byManager.get(name) ?? []), formatFieldPath(c.path)]);
    }
    const lines = [...byManager.keys()]
      .sort()
      .flatMap((name) => [`conflicts with ${name}:`, ...byManager.get(name)!.map((p) => `- ${p}`)]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  sendJson(res, 409, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Conflict',
    details: {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${describeManager(c.entry)}`,
        field: formatFieldPath(c.path),
      })),
    },
    code: 409,
  });
}

function notFound(res: ServerResponse, type: ResourceType, name: string): void {
  sendStatus(
    res,
    404,
    'NotFound',
    `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`,
  );
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason,
    message,
    code,
  });
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
