import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import {
  FLOTILLA_FIELD_MANAGER,
  formatObjectKey,
  type KubeObject,
  type ObjectRef,
} from '../../../libs/manifests/index.js';

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

/**
 * The agent's dynamic Kubernetes client: `KubernetesObjectApi` for discovery (plurals and scope
 * per apiVersion, cached, asked again for a kind it does not know yet) and request plumbing
 * (auth, TLS), with raw JSON in and out — the typed models of client-node would drop fields
 * they do not know — and a timeout on every request.
 */
export class KubeClient extends KubernetesObjectApi {
  requestTimeoutMs = 10_000;
  private readonly aborts = new Set<AbortController>();

  /** A client for the kubeconfig's current context. */
  static create(kc: KubeConfig, requestTimeoutMs: number): KubeClient {
    const client = kc.makeApiClient(KubeClient);
    client.requestTimeoutMs = requestTimeoutMs;
    return client;
  }

  /** Aborts every request in flight. */
  abortAll(reason: Error): void {
    for (const controller of this.aborts) controller.abort(reason);
    this.aborts.clear();
  }

  /** The resource type of a kind; undefined when the API server does not serve it (yet). */
  async resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    let found;
    try {
      found = await this.resource(apiVersion, kind);
    } catch (err) {
      const code =
        err instanceof KubeApiError ? err.code : err instanceof ApiException ? err.code : 0;
      if (code === 404) return undefined;
      throw new KubeApiError(code, `discovery of ${apiVersion} failed: ${describeError(err)}`, {
        cause: err,
      });
    }
    if (found === undefined) return undefined;
    return { apiVersion, kind, plural: found.name, namespaced: found.namespaced };
  }

  /** Forgets what discovery said about an apiVersion (e.g. after a CRD changed). */
  forgetDiscovery(apiVersion: string): void {
    delete this.apiVersionResourceCache[apiVersion];
  }

  /** The collection path of a type, e.g. `/apis/apps/v1/deployments` (all namespaces). */
  collectionPath(info: ResourceInfo, namespace?: string): string {
    const base = this.apiVersionPath(info.apiVersion);
    return namespace !== undefined && info.namespaced
      ? `${base}/namespaces/${encodeURIComponent(namespace)}/${info.plural}`
      : `${base}/${info.plural}`;
  }

  /** The live object, or undefined when it does not exist. */
  async getObject(info: ResourceInfo, ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.send(HttpMethod.GET, this.objectPath(info, ref), formatObjectKey(ref));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /** Server-side apply as `flotilla-agent`; `force` takes over fields other managers own. */
  applyObject(
    info: ResourceInfo,
    ref: ObjectRef,
    object: KubeObject,
    force: boolean,
  ): Promise<KubeObject> {
    const query = new URLSearchParams({
      fieldManager: FLOTILLA_FIELD_MANAGER,
      force: String(force),
    });
    return this.send(
      HttpMethod.PATCH,
      `${this.objectPath(info, ref)}?${query.toString()}`,
      formatObjectKey(ref),
      JSON.stringify(object),
      PatchStrategy.ServerSideApply,
    );
  }

  /** Deletes an object (dependents in the background); false when it was already gone. */
  async deleteObject(info: ResourceInfo, ref: ObjectRef): Promise<boolean> {
    try {
      await this.send(
        HttpMethod.DELETE,
        this.objectPath(info, ref),
        formatObjectKey(ref),
        JSON.stringify({
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: 'Background',
        }),
        'application/json',
      );
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
        HttpMethod.GET,
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

  protected override processResponse<T extends KubernetesObject>(
    response: ResponseContext,
  ): Promise<T> {
    return parseResponse(response) as Promise<T>;
  }

  private objectPath(info: ResourceInfo, ref: ObjectRef): string {
    return `${this.collectionPath(info, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  }

  private async send(
    method: HttpMethod,
    path: string,
    what: string,
    body?: string,
    contentType?: string,
  ): Promise<KubeObject> {
    const context: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    context.setHeaderParam('Accept', 'application/json');
    if (body !== undefined) {
      context.setHeaderParam('Content-Type', contentType ?? 'application/json');
      context.setBody(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`timed out after ${this.requestTimeoutMs} ms`)),
      this.requestTimeoutMs,
    );
    context.setSignal(controller.signal);
    this.aborts.add(controller);
    try {
      return (await this.requestPromise(context)) as KubeObject;
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      throw new KubeApiError(0, `${method} ${what}: ${describeError(reason)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      this.aborts.delete(controller);
    }
  }
}

async function parseResponse(response: ResponseContext): Promise<unknown> {
  const text = await response.body.text();
  let data: unknown;
  try {
    data = text === '' ? {} : JSON.parse(text);
  } catch {
    data = text;
  }
  if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return data;
  const message =
    typeof data === 'object' &&
    data !== null &&
    'message' in data &&
    typeof data.message === 'string'
      ? data.message
      : oneLine(String(text));
  throw new KubeApiError(
    response.httpStatusCode,
    `the API server answered HTTP ${response.httpStatusCode}${message !== '' ? `: ${message}` : ''}`,
  );
}

/** A one-line description of an error of the API server or the network. */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let detail = '';
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        detail = typeof parsed.message === 'string' ? parsed.message : body;
      } catch {
        detail = body;
      }
    }
    return `the API server answered HTTP ${err.code}${detail !== '' ? `: ${oneLine(detail)}` : ''}`;
  }
  return oneLine(err instanceof Error ? err.message : String(err));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
