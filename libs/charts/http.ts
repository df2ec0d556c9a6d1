// A small HTTP(S) GET client for chart repositories and OCI registries: size limits, an idle
// timeout, an optional CA bundle, redirects that never downgrade to http unless allowed and never
// carry credentials to another origin.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ChartFetchError } from './errors.js';

const MAX_REDIRECTS = 5;

/** How one GET is made. */
export interface GetOptions {
  headers?: Record<string, string>;
  /** PEM CA certificates trusted in addition to the system ones. */
  ca?: string;
  /** Refuse a body larger than this (by Content-Length or while reading). */
  maxBytes: number;
  /** Allow plain http (the GitRepo's flag); https only otherwise. */
  allowHttp: boolean;
  /** No bytes for this long stops the request. */
  idleTimeoutMs: number;
  /** What the body is, for messages ("index.yaml", "chart archive"). */
  what: string;
}

/** A response read in full. */
export interface GetResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The URL finally answered (after redirects). */
  url: string;
}

/** `url` without user info and query string (which may hold tokens), for messages. */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<malformed URL>';
  }
}

/** Throws unless `url` is https, or http with `allowHttp`. */
export function checkScheme(url: URL, allowHttp: boolean): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:') {
    if (allowHttp) return;
    throw new ChartFetchError(
      `${safeUrl(url)}: plain http is not allowed for this GitRepo (use https, or set helmAllowHttp on the GitRepo)`,
    );
  }
  throw new ChartFetchError(`${safeUrl(url)}: only https (or http when allowed) URLs are fetched`);
}

function once(
  url: URL,
  opts: GetOptions,
  headers: Record<string, string>,
): Promise<IncomingMessage> {
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requestFn(url, {
      method: 'GET',
      headers,
      timeout: opts.idleTimeoutMs,
      ...(url.protocol === 'https:' && opts.ca !== undefined ? { ca: opts.ca } : {}),
    });
    req.on('timeout', () =>
      req.destroy(new ChartFetchError(`no data for ${opts.idleTimeoutMs / 1000}s`)),
    );
    req.on('error', reject);
    req.on('response', resolve);
    req.end();
  });
}

async function readBody(res: IncomingMessage, opts: GetOptions, url: URL): Promise<Buffer> {
  const tooLarge = () =>
    new ChartFetchError(
      `${safeUrl(url)}: ${opts.what} is larger than the limit of ${opts.maxBytes} bytes`,
    );
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > opts.maxBytes) {
      res.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * GETs `url`, following up to 5 redirects; returns any status (the caller decides), with the
 * body read up to `maxBytes`. Network failures become a `ChartFetchError` naming the URL.
 */
export async function httpGet(url: string | URL, opts: GetOptions): Promise<GetResponse> {
  let current = new URL(url);
  let headers = { ...(opts.headers ?? {}) };
  for (let hop = 0; ; hop++) {
    checkScheme(current, opts.allowHttp);
    let res: IncomingMessage;
    try {
      res = await once(current, opts, headers);
    } catch (err) {
      const reason = err instanceof ChartFetchError ? err.message : networkReason(err);
      throw new ChartFetchError(`GET ${safeUrl(current)}: ${reason}`, { cause: err });
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location !== undefined) {
      res.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new ChartFetchError(`GET ${safeUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
      }
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        // Credentials are for the origin they were configured for (registries redirect blob
        // downloads to storage that must not see them).
        headers = Object.fromEntries(
          Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
        );
      }
      current = next;
      continue;
    }
    let body: Buffer;
    try {
      body = await readBody(res, opts, current);
    } catch (err) {
      if (err instanceof ChartFetchError) throw err;
      throw new ChartFetchError(`GET ${safeUrl(current)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(res.headers)) {
      if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status, headers: flat, body, url: current.toString() };
  }
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** A network error in words, with what to do where there is something to do. */
function networkReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = (err as Error).message;
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(message)) {
    return `TLS handshake failed (${code || message}); if the server speaks plain http, helmAllowHttp on the GitRepo allows that`;
  }
  if (UNTRUSTED.has(code)) {
    return `the server's certificate is not trusted (${code}); add its CA as caBundle in helmRepoCredentials`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the server's certificate is for another host (${code})`;
  if (code === 'CERT_HAS_EXPIRED') return `the server's certificate has expired (${code})`;
  return code || message;
}

/** Throws a `ChartFetchError` for a non-2xx response: `GET <url>: 404 Not Found`. */
export function expectOk(res: GetResponse, what: string): void {
  if (res.status >= 200 && res.status < 300) return;
  const hint =
    res.status === 401 || res.status === 403 ? ' (check helmRepoCredentials on the GitRepo)' : '';
  throw new ChartFetchError(`${what}: GET ${safeUrl(res.url)}: HTTP ${res.status}${hint}`);
}
