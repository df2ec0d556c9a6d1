import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  KubeConfig,
  Observable,
  VersionApi,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { ClusterDriver } from './cluster-driver.js';

/** Where a pod finds its service account token (in-cluster configuration). */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options of {@link KubernetesCluster}. */
export interface KubernetesClusterOptions {
  /**
   * Kubeconfig file to use. Without it: the in-cluster service account when running in a pod,
   * else `$KUBECONFIG` or `~/.kube/config`.
   */
  kubeconfigPath?: string;
  /** How long one API request may take before it fails; default 10 s. */
  requestTimeoutMs?: number;
  /** How long the server version is remembered; default 10 minutes. */
  versionCacheMs?: number;
}

/** True when this process runs in a Kubernetes pod with a service account. */
export function runsInPod(): boolean {
  return (process.env.KUBERNETES_SERVICE_HOST ?? '') !== '' && existsSync(SERVICE_ACCOUNT_TOKEN);
}

/** A real cluster, reached through its Kubernetes API server with @kubernetes/client-node. */
export class KubernetesCluster implements ClusterDriver {
  readonly kind = 'kubernetes' as const;
  /** The API server URL, for messages. */
  readonly server: string;
  private readonly versionApi: VersionApi;
  private readonly requestTimeoutMs: number;
  private readonly versionCacheMs: number;
  private cachedVersion: { value: string; until: number } | undefined;
  private pendingVersion: Promise<string> | undefined;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  /** Loads the configuration; throws a readable error when there is none or it is broken. */
  constructor(options: KubernetesClusterOptions = {}) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.versionCacheMs = options.versionCacheMs ?? 10 * 60_000;
    const kc = new KubeConfig();
    const source = loadKubeConfig(kc, options.kubeconfigPath);
    const cluster = kc.getCurrentCluster();
    if (cluster === null) {
      throw new Error(`kubeconfig ${source} has no current cluster (check its current-context)`);
    }
    this.server = cluster.server;
    this.versionApi = kc.makeApiClient(VersionApi);
  }

  /** The API server's `gitVersion`, asked at most once per cache period. */
  kubernetesVersion(): Promise<string> {
    if (this.closed) return Promise.reject(new Error('Kubernetes cluster driver is closed'));
    if (this.cachedVersion !== undefined && Date.now() < this.cachedVersion.until) {
      return Promise.resolve(this.cachedVersion.value);
    }
    this.pendingVersion ??= this.fetchVersion().finally(() => {
      this.pendingVersion = undefined;
    });
    return this.pendingVersion;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort(new Error('driver closed'));
    this.inFlight.clear();
    return Promise.resolve();
  }

  private async fetchVersion(): Promise<string> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`timed out after ${this.requestTimeoutMs} ms`)),
      this.requestTimeoutMs,
    );
    this.inFlight.add(controller);
    try {
      const info = await this.versionApi.getCode(
        {},
        { middleware: [withSignal(controller.signal)], middlewareMergeStrategy: 'append' },
      );
      const version = info.gitVersion;
      if (typeof version !== 'string' || version === '') {
        throw new Error('the answer of /version has no gitVersion');
      }
      this.cachedVersion = { value: version, until: Date.now() + this.versionCacheMs };
      return version;
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      throw new Error(
        `cannot get the Kubernetes version from the API server at ${this.server}: ${describe(reason)}`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }
}

function loadKubeConfig(kc: KubeConfig, path: string | undefined): string {
  try {
    if (path !== undefined) {
      kc.loadFromFile(path);
      return path;
    }
    if (runsInPod()) {
      kc.loadFromCluster();
      return '(in-cluster service account)';
    }
    const envPath = process.env.KUBECONFIG ?? '';
    const homePath = join(homedir(), '.kube', 'config');
    if (envPath === '' && !existsSync(homePath)) {
      throw new Error(
        'no kubeconfig given, not running in a pod, and neither $KUBECONFIG nor ~/.kube/config exists',
      );
    }
    kc.loadFromDefault();
    return envPath !== '' ? envPath : homePath;
  } catch (err) {
    throw new Error(`cannot load the Kubernetes configuration: ${describe(err)}`, { cause: err });
  }
}

/** Client-node middleware that makes a request abortable. */
function withSignal(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
  };
}

function describe(err: unknown): string {
  if (err instanceof ApiException) {
    const detail = statusMessage(err.body);
    return `the API server answered HTTP ${err.code}${detail !== '' ? `: ${oneLine(detail)}` : ''}`;
  }
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** The `message` of a Kubernetes `Status` body (an object or its JSON text), else the text. */
function statusMessage(body: unknown): string {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body;
    }
  }
  if (typeof value === 'object' && value !== null && 'message' in value) {
    return typeof value.message === 'string' ? value.message : '';
  }
  return typeof body === 'string' ? body : '';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
