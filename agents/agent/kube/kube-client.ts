import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import {
  FLOTILLA_FIELD_MANAGER,
  formatObjectKey,
  type KubeObject,
  type ObjectRef,
} from '../../../libs/manifests/index.js';
import type { KubeConnection } from './kube-config.js';

/** Where a resource type lives: its plural and whether it is namespaced (from discovery). */
export interface ResourceInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** An answer of the API server other than 2xx: its HTTP code and the `Status` message. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * True when the request may succeed later unchanged (the server or the network failed, or
   * it asked to slow down); false when the object or the agent's permissions must change.
   */
  get retryable(): boolean {
    return this.code === 0 || this.code === 408 || this.code === 429 || this.code >= 500;
  }
}

/** The content type of a server-side apply. */
const APPLY_PATCH = 'application/apply-patch+yaml';

/** One entry of an `APIResourceList` (discovery). */
interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** A watch event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object. */
export interface WatchEvent {
  (type: string, object: unknown): void;
}

/**
 * The agent's dynamic Kubernetes client over `node:http(s)`, with the connection (TLS, auth)
 * of a {@link KubeConnection}: discovery (plurals and scope per apiVersion, cached, asked again
 * for a kind it does not know yet), raw JSON in and out (typed models would drop fields they
 * do not know), a timeout on every request, and streaming watches.
 */
export class KubeClient {
  private readonly aborts = new Set<AbortController>();
  private readonly discovery = new Map<string, readonly ApiResource[]>();

  constructor(
    readonly connection: KubeConnection,
    public requestTimeoutMs = 10_000,
  ) {}

  /** Aborts every request in flight, and every watch. */
  abortAll(reason: Error): void {
    for (const controller of this.aborts) controller.abort(reason);
    this.aborts.clear();
  }

  /** The API server's `gitVersion` (`/version`). */
  async version(): Promise<string> {
    const info = await this.send('GET', '/version', 'version');
    if (typeof info.gitVersion !== 'string' || info.gitVersion === '') {
      throw new KubeApiError(0, 'the answer of /version has no gitVersion');
    }
    return info.gitVersion;
  }

  /** The resource type of a kind; undefined when the API server does not serve it (yet). */
  async resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    let found = this.discovery.get(apiVersion)?.find((r) => r.kind === kind);
    if (found === undefined) {
      let list: KubeObject;
      try {
        list = await this.send('GET', apiVersionPath(apiVersion), `discovery of ${apiVersion}`, {
          accept: 'application/json, */*;q=0.8',
        });
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 404) return undefined;
        const code = err instanceof KubeApiError ? err.code : 0;
        throw new KubeApiError(code, `discovery of ${apiVersion} failed: ${describeError(err)}`, {
          cause: err,
        });
      }
      // Subresources (`deployments/status`) share the kind of their resource.
      const resources = (Array.isArray(list.resources) ? (list.resources as ApiResource[]) : [])
        .filter((r) => typeof r.name === 'string' && !r.name.includes('/'))
        .map((r) => ({ name: r.name, kind: r.kind, namespaced: r.namespaced === true }));
      this.discovery.set(apiVersion, resources);
      found = resources.find((r) => r.kind === kind);
    }
    if (found === undefined) return undefined;
    return { apiVersion, kind, plural: found.name, namespaced: found.namespaced };
  }

  /** Forgets what discovery said about an apiVersion (e.g. after a CRD changed). */
  forgetDiscovery(apiVersion: string): void {
    this.discovery.delete(apiVersion);
  }

  /** The collection path of a type, e.g. `/apis/apps/v1/deployments` (all namespaces). */
  collectionPath(info: ResourceInfo, namespace?: string): string {
    const base = apiVersionPath(info.apiVersion);
    return namespace !== undefined && info.namespaced
      ? `${base}/namespaces/${encodeURIComponent(namespace)}/${info.plural}`
      : `${base}/${info.plural}`;
  }

  /** The live object, or undefined when it does not exist. */
  async getObject(info: ResourceInfo, ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.send('GET', this.objectPath(info, ref), formatObjectKey(ref));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /**
   * Server-side apply as `fieldManager` (default `flotilla-agent`); `force` takes over fields
   * other managers own.
   */
  applyObject(
    info: ResourceInfo,
    ref: ObjectRef,
    object: KubeObject,
    force: boolean,
    fieldManager = FLOTILLA_FIELD_MANAGER,
  ): Promise<KubeObject> {
    const query = new URLSearchParams({
      fieldManager,
      force: String(force),
    });
    return this.send(
      'PATCH',
      `${this.objectPath(info, ref)}?${query.toString()}`,
      formatObjectKey(ref),
      { body: JSON.stringify(object), contentType: APPLY_PATCH },
    );
  }

  /** Deletes an object (dependents in the background); false when it was already gone. */
  async deleteObject(info: ResourceInfo, ref: ObjectRef): Promise<boolean> {
    try {
      await this.send('DELETE', this.objectPath(info, ref), formatObjectKey(ref), {
        body: JSON.stringify({
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: 'Background',
        }),
        contentType: 'application/json',
      });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return false;
      throw err;
    }
  }

  /** A list (all namespaces unless `namespace`), with the list's resourceVersion. */
  async listObjects(
    info: ResourceInfo,
    labelSelector: string,
    namespace?: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const items: KubeObject[] = [];
    let resourceVersion = '';
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ labelSelector, limit: '500' });
      if (token !== undefined) query.set('continue', token);
      const page = await this.send(
        'GET',
        `${this.collectionPath(info, namespace)}?${query.toString()}`,
        `${info.apiVersion} ${info.kind} list`,
      );
      const metadata = (page.metadata ?? {}) as { resourceVersion?: string; continue?: string };
      for (const item of Array.isArray(page.items) ? (page.items as KubeObject[]) : []) {
        items.push({ apiVersion: info.apiVersion, kind: info.kind, ...item });
      }
      resourceVersion = metadata.resourceVersion ?? '';
      token =
        metadata.continue !== undefined && metadata.continue !== '' ? metadata.continue : undefined;
    } while (token !== undefined);
    return { items, resourceVersion };
  }

  /**
   * Watches a collection (`?watch=true`): calls `onEvent` for each event until the server ends
   * the stream (resolves) or it fails (rejects; a {@link KubeApiError} when the server refuses,
   * with code 410 when the resourceVersion is too old). `signal` stops it (rejects with its
   * reason). The stream may stay quiet for long (a server sends the answer's head with the
   * first event, or at once): TCP keep-alive notices a dead connection, and a watch still open
   * after `deadlineMs` (longer than the `timeoutSeconds` asked for) is ended as failed.
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: WatchEvent,
    signal: AbortSignal,
    deadlineMs: number,
  ): Promise<void> {
    const params = new URLSearchParams({ ...query, watch: 'true' });
    const controller = new AbortController();
    const stop = () => controller.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    const deadline = setTimeout(
      () => controller.abort(new Error(`still open after ${deadlineMs} ms`)),
      deadlineMs,
    );
    this.aborts.add(controller);
    try {
      if (signal.aborted) throw signal.reason;
      const response = await this.open('GET', `${path}?${params.toString()}`, controller.signal, {
        keepAliveMs: 30_000,
      });
      if (response.statusCode !== 200) throw errorOf(response, await readText(response));
      response.setEncoding('utf8');
      let pending = '';
      for await (const chunk of response) {
        pending += chunk as string;
        let end: number;
        while ((end = pending.indexOf('\n')) !== -1) {
          emit(pending.slice(0, end), onEvent);
          pending = pending.slice(end + 1);
        }
      }
      emit(pending, onEvent);
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      throw new KubeApiError(0, `watch ${path}: ${describeError(reason)}`, { cause: err });
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener('abort', stop);
      this.aborts.delete(controller);
    }
  }

  private objectPath(info: ResourceInfo, ref: ObjectRef): string {
    return `${this.collectionPath(info, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  }

  /** One request, its JSON answer; a {@link KubeApiError} for anything but 2xx. */
  private async send(
    method: string,
    path: string,
    what: string,
    options: { body?: string; contentType?: string; accept?: string } = {},
  ): Promise<KubeObject> {
    const controller = new AbortController();
    this.aborts.add(controller);
    try {
      return await this.withTimeout(controller, async () => {
        const response = await this.open(method, path, controller.signal, options);
        const text = await readText(response);
        const code = response.statusCode ?? 0;
        if (code < 200 || code > 299) throw errorOf(response, text);
        return parseJson(text) as KubeObject;
      });
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      throw new KubeApiError(0, `${method} ${what}: ${describeError(reason)}`, { cause: err });
    } finally {
      this.aborts.delete(controller);
    }
  }

  /** Runs `fn`; aborts `controller` when it takes longer than the request timeout. */
  private async withTimeout<T>(controller: AbortController, fn: () => Promise<T>): Promise<T> {
    const timer = setTimeout(
      () => controller.abort(new Error(`timed out after ${this.requestTimeoutMs} ms`)),
      this.requestTimeoutMs,
    );
    try {
      return await fn();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a request; resolves with the answer's head. */
  private async open(
    method: string,
    path: string,
    signal: AbortSignal,
    options: { body?: string; contentType?: string; accept?: string; keepAliveMs?: number },
  ): Promise<IncomingMessage> {
    const { server, agent, headers } = await this.connection.requestOptions();
    signal.throwIfAborted();
    const url = new URL(`${server}${path}`);
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method,
      agent,
      signal,
      headers: {
        ...headers,
        accept: options.accept ?? 'application/json',
        ...(options.body !== undefined
          ? {
              'content-type': options.contentType ?? 'application/json',
              'content-length': Buffer.byteLength(options.body),
            }
          : {}),
      },
    });
    return new Promise<IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
      if (options.keepAliveMs !== undefined) {
        const keepAliveMs = options.keepAliveMs;
        request.once('socket', (socket) => socket.setKeepAlive(true, keepAliveMs));
      }
      request.end(options.body);
    });
  }
}

/** Passes one line of a watch stream (a JSON event) on; skips what is not one. */
function emit(line: string, onEvent: WatchEvent): void {
  if (line.trim() === '') return;
  let event: { type?: unknown; object?: unknown };
  try {
    event = JSON.parse(line) as { type?: unknown; object?: unknown };
  } catch {
    return;
  }
  if (typeof event.type === 'string') onEvent(event.type, event.object);
}

function apiVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

async function readText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response) text += chunk as string;
  return text;
}

function parseJson(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The error of an answer other than 2xx, with the `message` of its `Status`. */
function errorOf(response: IncomingMessage, text: string): KubeApiError {
  const code = response.statusCode ?? 0;
  const data = parseJson(text);
  const message =
    typeof data === 'object' &&
    data !== null &&
    'message' in data &&
    typeof data.message === 'string'
      ? data.message
      : oneLine(text);
  return new KubeApiError(
    code,
    `the API server answered HTTP ${code}${message !== '' ? `: ${message}` : ''}`,
  );
}

/** A one-line description of an error of the API server or the network. */
export function describeError(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
