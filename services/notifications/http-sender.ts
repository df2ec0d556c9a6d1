import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  DestinationRefusedError,
  type OutgoingRequest,
  checkUrl,
  guardedLookup,
  redactUrl,
} from '../../libs/notifications/index.js';

/** The outcome of one HTTP delivery. */
export type SendResult = { ok: true; status: number } | { ok: false; error: string };

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Sends one request: the destination checked first (scheme, private addresses: every address
 * the host resolves to, at connect time), no redirects followed, within `timeoutMs`.
 */
export function send(
  req: OutgoingRequest,
  options: { allowHttp: boolean; allowPrivate: boolean; timeoutMs: number },
): Promise<SendResult> {
  let url: URL;
  try {
    url = checkUrl(req.url, options);
  } catch (err) {
    return Promise.resolve({ ok: false, error: (err as Error).message });
  }
  const body = Buffer.from(req.body);
  return new Promise((resolve) => {
    const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = make(
      url,
      {
        method: req.method,
        headers: { ...req.headers, 'content-length': String(body.length) },
        lookup: guardedLookup(options.allowPrivate),
        timeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < MAX_RESPONSE_BYTES) text += chunk;
        });
        res.on('error', (err) => resolve({ ok: false, error: err.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ ok: true, status });
          else
            resolve({
              ok: false,
              error: `${redactUrl(req.url)} answered ${status}: ${text.slice(0, 300)}`,
            });
        });
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    r.on('error', (err) =>
      resolve({
        ok: false,
        error:
          err instanceof DestinationRefusedError
            ? err.message
            : `${redactUrl(req.url)}: ${err.name === 'AbortError' ? `no answer within ${options.timeoutMs} ms` : err.message}`,
      }),
    );
    r.end(body);
  });
}
