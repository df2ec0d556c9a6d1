// A small isomorphic-git HTTP client on node:http/node:https. Unlike the stock client it stops
// a stalled transfer (socket idle timeout) so a hung server cannot block a poller forever, stops
// a response past a byte limit while it streams (isomorphic-git holds a whole pack in memory),
// and it never forwards credentials to another origin when following a redirect.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { GitTooLargeError, formatBytes } from './errors.js';

const MAX_REDIRECTS = 5;

async function collect(body: GitHttpRequest['body']): Promise<Buffer | undefined> {
  if (body === undefined) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function timeoutError(ms: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`no data for ${ms} ms`);
  err.code = 'ETIMEDOUT';
  return err;
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  idleTimeoutMs: number,
): Promise<IncomingMessage> {
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requestFn(url, {
      method,
      headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
      timeout: idleTimeoutMs,
    });
    // The socket timeout keeps applying while the response body streams.
    req.on('timeout', () => req.destroy(timeoutError(idleTimeoutMs)));
    req.on('error', reject);
    req.on('response', resolve);
    req.end(body);
  });
}

function tooLarge(maxBytes: number): GitTooLargeError {
  return new GitTooLargeError(
    `the repository sent more than ${formatBytes(maxBytes)} in one response, the most this hub fetches (FLOTILLA_GIT_MAX_BYTES); the transfer was stopped`,
    maxBytes,
  );
}

/**
 * The response body, stopped (the connection closed, an error thrown to isomorphic-git) as
 * soon as more than `maxBytes` arrived, or at once when Content-Length says it will.
 */
async function* limited(
  res: IncomingMessage,
  maxBytes: number | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    const declared = Number(res.headers['content-length']);
    if (maxBytes !== undefined && Number.isFinite(declared) && declared > maxBytes) {
      throw tooLarge(maxBytes);
    }
    let received = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (maxBytes !== undefined && received > maxBytes) throw tooLarge(maxBytes);
      yield chunk;
    }
  } finally {
    // Stopped early (the limit, or isomorphic-git gave up reading): drop the connection.
    if (!res.complete) res.destroy();
  }
}

/**
 * Creates an isomorphic-git `HttpClient` with an idle timeout (no bytes for `idleTimeoutMs`) and,
 * with `maxBytes`, a limit on each response body (`GitTooLargeError` past it).
 */
export function createHttpClient({
  idleTimeoutMs,
  maxBytes,
}: {
  idleTimeoutMs: number;
  maxBytes?: number;
}): HttpClient {
  return {
    async request({ url, method = 'GET', headers = {}, body }): Promise<GitHttpResponse> {
      const payload = await collect(body);
      let current = new URL(url);
      let currentHeaders = { ...headers };
      let currentMethod = method;
      let currentBody = payload;
      for (let hop = 0; ; hop++) {
        const res = await send(current, currentMethod, currentHeaders, currentBody, idleTimeoutMs);
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(status) && location && hop < MAX_REDIRECTS) {
          res.destroy(); // a redirect's body is not read, however long it is
          const next = new URL(location, current);
          if (next.origin !== current.origin) {
            // Credentials are for the origin they were configured for, never a redirect target.
            currentHeaders = Object.fromEntries(
              Object.entries(currentHeaders).filter(([k]) => k.toLowerCase() !== 'authorization'),
            );
          }
          if (status === 303 || ((status === 301 || status === 302) && currentMethod === 'POST')) {
            currentMethod = 'GET';
            currentBody = undefined;
          }
          current = next;
          continue;
        }
        const flat: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) {
          if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
        }
        return {
          url: current.toString(),
          method: currentMethod,
          statusCode: status,
          statusMessage: res.statusMessage ?? '',
          headers: flat,
          body: limited(res, maxBytes),
        };
      }
    },
  };
}
