/** Values allowed in a query string; `undefined` entries are left out. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

/** A page of a list endpoint: `{items, continue?}`. */
export interface ListPage<T> {
  items: T[];
  continue?: string | null;
}

/** Options of {@link ApiClient} beyond the server and token. */
export interface ApiClientOptions {
  /** The fetch implementation (tests inject one); default the global fetch. */
  fetch?: typeof fetch;
  /** How long one request may take before it is abandoned; default 30 s. */
  timeoutMs?: number;
}

/** The hub answered with a non-2xx status; `message` is the hub's own explanation. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status code, e.g. 404 or 409. */
    readonly statusCode: number,
    message: string,
    /** The hub's short error name (`Conflict`, `Not Found`, ...), when it sent one. */
    readonly error?: string,
  ) {
    super(message);
  }
}

/** The hub could not be reached at all (refused connection, unknown host, timeout, ...). */
export class HubUnreachableError extends Error {
  override readonly name = 'HubUnreachableError';
}

/** The hub answered 2xx, but with a body the CLI cannot read. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
}

const API_BASE = '/api/v1';

/**
 * A small typed REST client for the hub's `/api/v1` API: JSON in and out, `Authorization:
 * Bearer` when a token is given, {@link ApiError} for non-2xx answers and
 * {@link HubUnreachableError} when no answer comes at all. Paths are relative to `/api/v1`
 * and their variable segments must already be URI-encoded.
 */
export class ApiClient {
  /** The server URL without trailing slashes, as shown in error messages. */
  readonly server: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    server: string,
    private readonly token?: string,
    options: ApiClientOptions = {},
  ) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new Error(`invalid server URL "${server}": expected e.g. http://localhost:8080`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`invalid server URL "${server}": only http and https are supported`);
    }
    this.server = server.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** `GET path?query`. */
  get<T = unknown>(path: string, query?: QueryParams): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** `POST path` with a JSON body. */
  post<T = unknown>(path: string, body?: unknown, query?: QueryParams): Promise<T> {
    return this.request<T>('POST', path, { body, query });
  }

  /** `PUT path` with a JSON body. */
  put<T = unknown>(path: string, body?: unknown, query?: QueryParams): Promise<T> {
    return this.request<T>('PUT', path, { body, query });
  }

  /** `PATCH path` with a JSON body. */
  patch<T = unknown>(path: string, body?: unknown, query?: QueryParams): Promise<T> {
    return this.request<T>('PATCH', path, { body, query });
  }

  /** `DELETE path`; resolves to `undefined` for a 204. */
  delete<T = unknown>(path: string, query?: QueryParams): Promise<T> {
    return this.request<T>('DELETE', path, { query });
  }

  /**
   * Every item of a list endpoint: requests page after page, passing each answer's `continue`
   * token back, until a page comes without one. `query.limit`, when given, is the page size.
   */
  async list<T = unknown>(path: string, query: QueryParams = {}): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    for (;;) {
      const page = await this.get<unknown>(path, { ...query, continue: token });
      if (!isListPage(page)) {
        throw new UnexpectedResponseError(
          `unexpected response from the hub for GET ${API_BASE}${path}: expected {items, continue?}`,
        );
      }
      items.push(...(page.items as T[]));
      const next = page.continue;
      if (next === undefined || next === null || next === '') return items;
      if (seen.has(next)) {
        throw new UnexpectedResponseError(
          `the hub repeated the continue token "${next}" for GET ${API_BASE}${path}`,
        );
      }
      seen.add(next);
      token = next;
    }
  }

  /** One request; the verbs above are shorthands for it. */
  async request<T = unknown>(
    method: string,
    path: string,
    { query, body }: { query?: QueryParams; body?: unknown } = {},
  ): Promise<T> {
    const url = this.url(path, query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new HubUnreachableError(
        `cannot reach the hub at ${this.server}: ${describeFetchFailure(err, this.timeoutMs)}`,
        { cause: err },
      );
    }

    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new HubUnreachableError(
        `the hub at ${this.server} broke off its answer: ${describeFetchFailure(err, this.timeoutMs)}`,
        { cause: err },
      );
    }
    if (!response.ok)
      throw apiErrorFrom(response, text, `${method} ${API_BASE}${rel(path)}`, this.server);
    if (response.status === 204 || text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UnexpectedResponseError(
        `unexpected response from the hub for ${method} ${API_BASE}${path}: not JSON (${abbreviate(text)})`,
      );
    }
  }

  private url(path: string, query: QueryParams = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.server}${API_BASE}${rel(path)}${qs ? `?${qs}` : ''}`;
  }
}

/** `path` with a leading slash. */
function rel(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

function isListPage(value: unknown): value is ListPage<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const page = value as { items?: unknown; continue?: unknown };
  return (
    Array.isArray(page.items) &&
    (page.continue === undefined || page.continue === null || typeof page.continue === 'string')
  );
}

/** Builds the ApiError for a non-2xx answer from the hub's `{statusCode, error, message}`. */
function apiErrorFrom(response: Response, text: string, request: string, server: string): ApiError {
  const fallback = `${response.status} ${response.statusText || 'error'}`.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const body = parsed as { message?: unknown; error?: unknown };
    const error = typeof body.error === 'string' ? body.error : undefined;
    let message: string | undefined;
    if (typeof body.message === 'string' && body.message !== '') message = body.message;
    else if (Array.isArray(body.message)) message = body.message.map(String).join('; ');
    let shown = message ?? error ?? fallback;
    // The hub does not know how the token was given; the CLI does.
    if (response.status === 401 && !request.includes('/agent/')) {
      shown += ' (give an API token with --token or FLOTILLA_TOKEN)';
    }
    return new ApiError(response.status, shown, error);
  }
  const detail = text.trim() === '' ? '' : `: ${abbreviate(text)}`;
  return new ApiError(
    response.status,
    `the server at ${server} answered ${fallback} to ${request}${detail}`,
  );
}

/** Turns fetch's `TypeError: fetch failed` into what actually went wrong. */
function describeFetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000}s`;
  }
  const cause = err instanceof Error ? err.cause : undefined;
  const detail = describeCause(cause);
  if (detail) return detail;
  return err instanceof Error ? err.message : String(err);
}

function describeCause(cause: unknown): string | undefined {
  if (!(cause instanceof Error)) return undefined;
  if (cause.message) return cause.message;
  // Node reports a refused `localhost` (tried as ::1 and 127.0.0.1) as an AggregateError
  // with an empty message and the attempts in `errors`.
  if (cause instanceof AggregateError) {
    const parts = cause.errors
      .map((e: unknown) => (e instanceof Error ? e.message : String(e)))
      .filter((m) => m !== '');
    if (parts.length > 0) return parts.join(', ');
  }
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function abbreviate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}
