import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg } from '@nats-io/transport-node';
import { contentDigest } from '../../libs/contracts/signing.js';
import type { KubeObject } from '../../libs/manifests/index.js';
import { backoffDelayMs } from './hub-client.js';

/** Header with which the hub answers a content request it cannot serve. */
export const CONTENT_ERROR_HEADER = 'Flotilla-Error';

/** A revision's content is broken for good (not JSON, not an array): fetching again cannot help. */
export class InvalidContentError extends Error {
  override readonly name = 'InvalidContentError';
}

/** What the fetcher needs to know about a revision (from its Upsert). */
export interface RevisionRef {
  revision: string;
  size: number;
  chunks: number;
  /** sha256 (hex) of the content, from the hub's signed desired state. */
  contentSha256?: string;
  /** The content itself, when the hub sent it inline: nothing to fetch. */
  content?: string;
}

/**
 * The parsed content of recently used revisions, bounded by count and by bytes (the content's
 * `size`), least recently used first out. Identical revisions of several bundles share one entry.
 */
export class ContentCache {
  private readonly entries = new Map<string, { objects: KubeObject[]; size: number }>();
  private bytes = 0;

  constructor(
    readonly maxRevisions = 64,
    readonly maxBytes = 256 * 1024 * 1024,
  ) {}

  /** The objects of a revision, marking it as recently used. */
  get(revision: string): KubeObject[] | undefined {
    const entry = this.entries.get(revision);
    if (entry === undefined) return undefined;
    this.entries.delete(revision);
    this.entries.set(revision, entry);
    return entry.objects;
  }

  /** Keeps a revision, evicting the least recently used ones beyond the bounds (never this one). */
  set(revision: string, objects: KubeObject[], size: number): void {
    const old = this.entries.get(revision);
    if (old !== undefined) {
      this.bytes -= old.size;
      this.entries.delete(revision);
    }
    this.entries.set(revision, { objects, size });
    this.bytes += size;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxRevisions && this.bytes <= this.maxBytes) break;
      if (key === revision) continue;
      this.entries.delete(key);
      this.bytes -= entry.size;
    }
  }

  /** Revisions held, least recently used first. */
  revisions(): string[] {
    return [...this.entries.keys()];
  }
}

/** Options of a {@link ContentFetcher}. */
export interface ContentFetcherOptions {
  /** Sends one content request (JSON `{revision, chunk}`) and resolves with the reply. */
  request: (payload: string) => Promise<Msg>;
  cache: ContentCache;
  /** Attempts per chunk before the fetch fails; default 3. */
  chunkAttempts?: number;
  /** Chunk requests of one revision in flight at once; default 4. */
  chunkConcurrency?: number;
  /** Revisions downloaded at once; default 4. */
  revisionConcurrency?: number;
  /** First retry delay of a chunk; default 250 ms. */
  retryDelayMs?: number;
}

interface Download {
  promise: Promise<KubeObject[]>;
  waiters: number;
  abort: AbortController;
}

/**
 * Fetches revisions' content chunk by chunk, through the cache. A revision several bundles want
 * at once is downloaded once; the download is abandoned when every bundle waiting for it has
 * given up (its signal aborted).
 */
export class ContentFetcher {
  private readonly downloads = new Map<string, Download>();
  private readonly slots: Semaphore;
  private readonly chunkAttempts: number;
  private readonly chunkConcurrency: number;
  private readonly retryDelayMs: number;

  constructor(private readonly opts: ContentFetcherOptions) {
    this.slots = new Semaphore(opts.revisionConcurrency ?? 4);
    this.chunkAttempts = opts.chunkAttempts ?? 3;
    this.chunkConcurrency = opts.chunkConcurrency ?? 4;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
  }

  /** The revision's objects, from the cache or the hub; rejects with the signal's reason when aborted. */
  async fetch(ref: RevisionRef, signal: AbortSignal): Promise<KubeObject[]> {
    signal.throwIfAborted();
    const cached = this.opts.cache.get(ref.revision);
    if (cached !== undefined) return cached;
    if (ref.content !== undefined) {
      const objects = checkedContent(ref, Buffer.from(ref.content, 'utf8'));
      this.opts.cache.set(ref.revision, objects, ref.size);
      return objects;
    }
    let download = this.downloads.get(ref.revision);
    if (download === undefined) {
      const abort = new AbortController();
      const promise = this.download(ref, abort.signal).then((objects) => {
        this.opts.cache.set(ref.revision, objects, ref.size);
        return objects;
      });
      const started: Download = { promise, waiters: 0, abort };
      download = started;
      this.downloads.set(ref.revision, started);
      promise
        .finally(() => {
          if (this.downloads.get(ref.revision) === started) this.downloads.delete(ref.revision);
        })
        .catch(() => undefined);
    }
    download.waiters++;
    try {
      return await untilAborted(download.promise, signal);
    } finally {
      if (--download.waiters === 0) download.abort.abort(new Error('no bundle wants it any more'));
    }
  }

  private async download(ref: RevisionRef, signal: AbortSignal): Promise<KubeObject[]> {
    await this.slots.acquire(signal);
    try {
      const parts = await this.chunks(ref, signal);
      return checkedContent(ref, Buffer.concat(parts));
    } finally {
      this.slots.release();
    }
  }

  private async chunks(ref: RevisionRef, signal: AbortSignal): Promise<Uint8Array[]> {
    const parts: Uint8Array[] = new Array<Uint8Array>(ref.chunks);
    const failed = new AbortController();
    const both = AbortSignal.any([signal, failed.signal]);
    let next = 0;
    let total = 0;
    const worker = async (): Promise<void> => {
      while (next < ref.chunks) {
        const index = next++;
        const part = await this.chunk(ref.revision, index, both);
        parts[index] = part;
        total += part.length;
        if (total > ref.size) {
          throw new Error(
            `content of revision ${short(ref.revision)} exceeds its size of ${ref.size} bytes`,
          );
        }
      }
    };
    const workers = Array.from({ length: Math.min(this.chunkConcurrency, ref.chunks) }, () =>
      worker().catch((err: unknown) => {
        failed.abort(err);
        throw err;
      }),
    );
    const results = await Promise.allSettled(workers);
    signal.throwIfAborted();
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected !== undefined) throw rejected.reason;
    return parts;
  }

  private async chunk(revision: string, index: number, signal: AbortSignal): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        const msg = await untilAborted(
          this.opts.request(JSON.stringify({ revision, chunk: index })),
          signal,
        );
        const error = msg.headers?.has(CONTENT_ERROR_HEADER)
          ? msg.headers.get(CONTENT_ERROR_HEADER)
          : undefined;
        if (error !== undefined || msg.data.length === 0) {
          throw new Error(
            `the hub cannot serve chunk ${index} of revision ${short(revision)}${error ? `: ${error}` : ''}`,
          );
        }
        return msg.data;
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (attempt + 1 >= this.chunkAttempts) {
          throw new Error(
            `cannot fetch chunk ${index} of revision ${short(revision)} after ${attempt + 1} attempts: ${errorMessage(err)}`,
            { cause: err },
          );
        }
        await sleep(backoffDelayMs(attempt, this.retryDelayMs, 5_000), undefined, { signal });
      }
    }
  }
}

/** Parses a revision's content: UTF-8 JSON, an array of objects. */
export function parseContent(revision: string, content: Uint8Array): KubeObject[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(content));
  } catch (err) {
    throw new InvalidContentError(
      `content of revision ${short(revision)} is not UTF-8 JSON: ${errorMessage(err)}`,
    );
  }
  if (!Array.isArray(value)) {
    throw new InvalidContentError(
      `content of revision ${short(revision)} is not a JSON array of objects`,
    );
  }
  return value as KubeObject[];
}

/** The first 12 characters of a revision id, for messages. */
export function short(revision: string): string {
  return revision.slice(0, 12);
}

/** An error's message (or the value as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves or rejects like `promise`, or rejects with the signal's reason once it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Counts permits; waiting for one can be aborted. */
class Semaphore {
  private readonly waiting: (() => void)[] = [];
  constructor(private available: number) {}

  async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.available > 0) {
      this.available--;
      return;
    }
    let grant: (() => void) | undefined;
    const granted = new Promise<void>((resolve) => {
      grant = resolve;
    });
    this.waiting.push(grant!);
    try {
      await untilAborted(granted, signal);
    } catch (err) {
      const at = this.waiting.indexOf(grant!);
      if (at >= 0) this.waiting.splice(at, 1);
      else this.release(); // granted just as it was aborted: hand the permit on
      throw err;
    }
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.available++;
  }
}

/** A revision's objects from its content bytes, once size and digest match its Upsert. */
function checkedContent(ref: RevisionRef, content: Buffer): KubeObject[] {
  if (content.length !== ref.size) {
    throw new Error(
      `content of revision ${short(ref.revision)} is ${content.length} bytes, expected ${ref.size}`,
    );
  }
  if (ref.contentSha256 !== undefined && contentDigest(content) !== ref.contentSha256) {
    throw new InvalidContentError(
      `content of revision ${short(ref.revision)} does not match the digest the hub signed; refusing it`,
    );
  }
  return parseContent(ref.revision, content);
}
