import http from 'node:http';
import https from 'node:https';

/** The answer of the hub to a request: status and body text. */
export interface HubHttpResponse {
  status: number;
  statusText: string;
  text: string;
}

/** How many times a request follows a 307/308 redirect. */
const MAX_REDIRECTS = 5;

/**
 * POSTs a JSON body with `node:http(s)` and reads the answer as text. The agent talks to the
 * hub with this rather than `fetch`: the first `fetch` of a process compiles undici's
 * WebAssembly HTTP parser, ~12 MiB of the agent's memory for good and ~40 MiB at its peak.
 * Follows method-preserving redirects (307, 308); rejects with `signal`'s reason once it
 * aborts, and with the network error otherwise.
 */
export async function postJson(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<HubHttpResponse> {
  let target = url;
  for (let redirects = 0; ; redirects++) {
    const response = await post(target, headers, body, signal);
    const location = response.headers.location;
    if (
      (response.statusCode === 307 || response.statusCode === 308) &&
      location !== undefined &&
      redirects < MAX_REDIRECTS
    ) {
      response.resume();
      target = new URL(location, target);
      continue;
    }
    response.setEncoding('utf8');
    let text = '';
    try {
      for await (const chunk of response) text += chunk as string;
    } catch (err) {
      throw signal.aborted ? signal.reason : err;
    }
    const status = response.statusCode ?? 0;
    return { status, statusText: response.statusMessage ?? '', text };
  }
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      signal,
    });
    request.once('response', resolve);
    request.once('error', (err) => reject(signal.aborted ? (signal.reason as Error) : err));
    request.end(body);
  });
}
