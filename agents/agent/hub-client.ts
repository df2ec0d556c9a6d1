import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  AgentRegisterResponseSchema,
  BootstrapResponseSchema,
  type AgentRegisterResponse,
  type BootstrapResponse,
} from '../../libs/contracts/index.js';
import { postJson, type HubHttpResponse } from './hub-http.js';

/** The hub refused a request for a reason retrying cannot fix (bad token, name taken, ...). */
export class HubError extends Error {
  override readonly name = 'HubError';
  constructor(
    message: string,
    /** HTTP status the hub answered with, or undefined when its answer was unusable. */
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/** Capped exponential backoff with jitter: attempt 0 waits 0.25–0.5 s, later ones up to 30 s. */
export function backoffDelayMs(attempt: number, initialMs = 500, maxMs = 30_000): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Turns a host name into a valid cluster name (an RFC 1123 DNS label: lower-case letters,
 * digits and '-', at most 63 characters, starting and ending with a letter or digit).
 */
export function clusterNameFromHostname(hostname: string): string {
  const name = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name === '' ? 'cluster' : name;
}

interface HubCall<T> {
  hubUrl: string;
  path: string;
  token: string;
  body: unknown;
  /** Status code(s) that mean success. */
  expect: number;
  schema: z.ZodType<T>;
  /** What is being done, for messages: "bootstrap", "registration". */
  what: string;
  logger: Logger;
  signal?: AbortSignal;
  requestTimeoutMs?: number;
}

/** A failure worth retrying: the hub is unreachable, overloaded or broken for now. */
class TransientError extends Error {}

/** No answer from the hub at all (refused, reset, timed out): it may be (re)starting. */
export class HubUnreachableError extends TransientError {
  override readonly name = 'HubUnreachableError';
}

/** `POST /api/v1/agent/bootstrap`, retried forever while the hub is unreachable or answers 5xx. */
export function bootstrap(
  hubUrl: string,
  agentToken: string,
  logger: Logger,
  signal?: AbortSignal,
): Promise<BootstrapResponse> {
  return callHubWithRetry({
    hubUrl,
    path: 'api/v1/agent/bootstrap',
    token: agentToken,
    body: {},
    expect: 200,
    schema: BootstrapResponseSchema,
    what: 'bootstrap',
    logger,
    signal,
  });
}

/**
 * `POST /api/v1/agent/bootstrap` once: rejects when the hub is unreachable or answers 5xx, for a
 * caller that paces its own attempts.
 */
export function bootstrapOnce(
  hubUrl: string,
  agentToken: string,
  logger: Logger,
  signal?: AbortSignal,
): Promise<BootstrapResponse> {
  return callHub({
    hubUrl,
    path: 'api/v1/agent/bootstrap',
    token: agentToken,
    body: {},
    expect: 200,
    schema: BootstrapResponseSchema,
    what: 'bootstrap',
    logger,
    signal,
  });
}

/** `POST /api/v1/agent/register`, retried forever while the hub is unreachable or answers 5xx. */
export function register(
  hubUrl: string,
  registrationToken: string,
  name: string,
  labels: Record<string, string>,
  logger: Logger,
  signal?: AbortSignal,
): Promise<AgentRegisterResponse> {
  return callHubWithRetry({
    hubUrl,
    path: 'api/v1/agent/register',
    token: registrationToken,
    body: { name, labels },
    expect: 201,
    schema: AgentRegisterResponseSchema,
    what: 'registration',
    logger,
    signal,
  });
}

async function callHubWithRetry<T>(call: HubCall<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    call.signal?.throwIfAborted();
    try {
      return await callHub(call);
    } catch (err) {
      if (!(err instanceof TransientError) || call.signal?.aborted === true) throw err;
      const delayMs = backoffDelayMs(attempt);
      call.logger.warn(
        { attempt: attempt + 1, retryInMs: delayMs, reason: err.message },
        `${call.what} at the hub failed, retrying`,
      );
      await sleep(delayMs, undefined, { signal: call.signal });
    }
  }
}

async function callHub<T>(call: HubCall<T>): Promise<T> {
  const base = call.hubUrl.endsWith('/') ? call.hubUrl : `${call.hubUrl}/`;
  let url: URL;
  try {
    url = new URL(call.path, base);
  } catch {
    throw new HubError(`invalid hub URL "${call.hubUrl}"`, undefined);
  }
  const timeout = AbortSignal.timeout(call.requestTimeoutMs ?? 15_000);
  let response: HubHttpResponse;
  let text: string;
  try {
    response = await postJson(
      url,
      {
        authorization: `Bearer ${call.token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      JSON.stringify(call.body),
      call.signal ? AbortSignal.any([call.signal, timeout]) : timeout,
    );
    text = response.text;
  } catch (err) {
    if (call.signal?.aborted === true) throw call.signal.reason;
    throw new HubUnreachableError(`hub ${url.origin} unreachable: ${describeFetchError(err)}`);
  }
  const where = `POST /${call.path}`;
  if (response.status >= 500 || response.status === 408 || response.status === 429) {
    throw new TransientError(
      `hub answered ${response.status} ${response.statusText} at ${where}${hubMessage(text)}`,
    );
  }
  if (response.status !== call.expect) {
    throw new HubError(
      `${call.what} refused: hub answered ${response.status} ${response.statusText} at ${where}${hubMessage(text)}`,
      response.status,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HubError(`${call.what}: hub answered ${where} with invalid JSON`, response.status);
  }
  const parsed = call.schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new HubError(
      `${call.what}: unexpected answer of ${where} (${problems.join('; ')}); is the hub a compatible version?`,
      response.status,
    );
  }
  return parsed.data;
}

/** `: <message>` from a `{statusCode, error, message}` body, or a short excerpt of the text. */
function hubMessage(text: string): string {
  let message = '';
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'message' in body) {
      const m = body.message;
      if (typeof m === 'string') message = m;
      else if (Array.isArray(m)) message = m.map(String).join('; ');
    }
  } catch {
    message = text;
  }
  message = message.replace(/\s+/g, ' ').trim().slice(0, 300);
  return message === '' ? '' : `: ${message}`;
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'request timed out';
  const cause: unknown = err.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === undefined || cause.message.includes(code)) return cause.message || err.message;
    return cause.message === '' ? code : `${code}: ${cause.message}`;
  }
  return err.message;
}
