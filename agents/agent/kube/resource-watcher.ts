import type { Logger } from 'pino';
import { backoffDelayMs } from '../hub-client.js';
import {
  isPlainObject,
  metadataOf,
  scopedKey,
  type KubeObject,
} from '../../../libs/manifests/index.js';
import { KubeApiError, describeError, type KubeClient, type ResourceInfo } from './kube-client.js';

/** What a {@link ResourceWatcher} tells its owner. */
export interface WatchListener {
  /** An object of the type was added, changed (`object`) or deleted (`undefined`). */
  (key: string, object: KubeObject | undefined): void;
}

/** How long a watch request may stay open before it is renewed (the server may end it sooner). */
const WATCH_TIMEOUT_SECONDS = 300;

/**
 * One list-then-watch of a resource type, across all namespaces, limited by a label selector
 * (the agent's objects): keeps the objects whose keys `tracked` accepts, and tells the listener
 * about every change. A watch that ends is resumed from the last resourceVersion; one that
 * fails, or is too old (410 Gone), lists again after a backoff. Keeps only the agent's own
 * managed fields of each object, to stay small.
 */
export class ResourceWatcher {
  /** Live objects by key. */
  readonly objects = new Map<string, KubeObject>();
  private resourceVersion = '';
  private abort: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;
  private syncedOnce = false;
  private readonly syncWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private lastError: Error | undefined;

  constructor(
    readonly info: ResourceInfo,
    private readonly client: KubeClient,
    private readonly labelSelector: string,
    private readonly tracked: (key: string) => boolean,
    private readonly listener: WatchListener,
    private readonly log: Logger,
    private readonly slimObject: (object: KubeObject) => KubeObject,
  ) {}

  /** Lists, then watches; call once. */
  start(): void {
    void this.relist();
  }

  /**
   * Resolves once the first list arrived; rejects with the list error when the first list
   * fails, or after `timeoutMs`.
   */
  synced(timeoutMs: number): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `listing ${this.info.apiVersion} ${this.info.kind} took longer than ${timeoutMs} ms${
              this.lastError !== undefined ? `: ${this.lastError.message}` : ''
            }`,
          ),
        );
      }, timeoutMs);
      this.syncWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  /** Puts a newer version of an object (e.g. the answer to an apply) into the cache. */
  remember(key: string, object: KubeObject): void {
    const current = this.objects.get(key);
    if (current !== undefined && newer(current, object)) return;
    this.objects.set(key, this.slimObject(object));
  }

  /** Stops watching. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.abort?.abort();
    for (const waiter of this.syncWaiters.splice(0)) {
      waiter.reject(new Error('the watch was stopped'));
    }
  }

  private keyOf(object: KubeObject): string | undefined {
    try {
      return scopedKey(
        { ...object, apiVersion: this.info.apiVersion, kind: this.info.kind },
        this.info.namespaced,
      );
    } catch {
      return undefined;
    }
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.client.listObjects(this.info, this.labelSelector);
      if (this.stopped) return;
      const seen = new Set<string>();
      for (const object of list.items) {
        const key = this.keyOf(object);
        if (key === undefined || !this.tracked(key)) continue;
        seen.add(key);
        this.update(key, object);
      }
      for (const key of [...this.objects.keys()]) {
        if (!seen.has(key)) {
          this.objects.delete(key);
          this.listener(key, undefined);
        }
      }
      this.resourceVersion = list.resourceVersion;
      this.syncedOnce = true;
      for (const waiter of this.syncWaiters.splice(0)) waiter.resolve();
      await this.watch();
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      if (!this.syncedOnce) {
        for (const waiter of this.syncWaiters.splice(0)) waiter.reject(this.lastError);
      }
      this.retry(err);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const abort = new AbortController();
    this.abort = abort;
    let gone = false;
    let failure: unknown;
    try {
      await this.client.watch(
        this.client.collectionPath(this.info),
        {
          labelSelector: this.labelSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(WATCH_TIMEOUT_SECONDS),
        },
        (type, object) => {
          if (!isPlainObject(object) || gone) return;
          if (type === 'ERROR') {
            gone = object.code === 410;
            failure = new Error(
              typeof object.message === 'string' ? object.message : 'watch error',
            );
            // The server ends the stream after an ERROR event; do not wait for it.
            abort.abort(failure);
            return;
          }
          const rv = metadataOf(object)?.resourceVersion;
          if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
          if (type === 'BOOKMARK') return;
          this.attempt = 0;
          const key = this.keyOf(object);
          if (key === undefined || !this.tracked(key)) return;
          if (type === 'DELETED') {
            this.objects.delete(key);
            this.listener(key, undefined);
          } else {
            this.update(key, object);
          }
        },
        abort.signal,
        (WATCH_TIMEOUT_SECONDS + 60) * 1000,
      );
    } catch (err) {
      if (failure === undefined) failure = err;
      if (err instanceof KubeApiError && err.code === 410) gone = true;
    }
    if (this.stopped) return;
    if (gone) {
      this.log.debug({ kind: this.info.kind }, 'watch expired (410); listing again');
      void this.relist();
    } else if (failure !== undefined) {
      this.retry(failure);
    } else {
      // The server ended the watch (its timeout): resume where it stopped.
      void this.watch();
    }
  }

  private update(key: string, object: KubeObject): void {
    const full = { ...object, apiVersion: this.info.apiVersion, kind: this.info.kind };
    const current = this.objects.get(key);
    if (current !== undefined && newer(current, full)) return;
    this.objects.set(key, this.slimObject(full));
    this.listener(key, full);
  }

  private retry(err: unknown): void {
    if (this.stopped) return;
    const delayMs = backoffDelayMs(this.attempt++, 500, 30_000);
    this.log.warn(
      {
        kind: this.info.kind,
        apiVersion: this.info.apiVersion,
        reason: describeError(err),
        retryInMs: delayMs,
      },
      'watch failed; listing again later',
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.relist(), delayMs);
  }
}

/** True when `current` is newer than `candidate` (numeric resourceVersions; else never). */
function newer(current: KubeObject, candidate: KubeObject): boolean {
  const a = metadataOf(current)?.resourceVersion;
  const b = metadataOf(candidate)?.resourceVersion;
  if (typeof a !== 'string' || typeof b !== 'string' || !/^\d+$/.test(a) || !/^\d+$/.test(b)) {
    return false;
  }
  return BigInt(a) > BigInt(b);
}
