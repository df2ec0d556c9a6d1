import type { WhoamiView } from '../../libs/contracts/api-views.js';

const TOKEN_KEY = 'flotilla.token';

/** The API token of this browser tab: kept in session storage, sent only as a header. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: its status and the hub's message. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Headers of every API call: the bearer token, when signed in. */
export function authHeaders(token = tokenStore.get()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Calls the hub's REST API (`path` under /api/v1) and returns its JSON answer. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; token?: string | null; signal?: AbortSignal } = {},
): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...authHeaders(init.token === undefined ? tokenStore.get() : init.token),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message =
      typeof json === 'object' && json !== null && 'message' in json
        ? String(json.message)
        : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return json as T;
}

/** Checks a token with the hub: who it is and what it may do. */
export function whoami(token: string | null): Promise<WhoamiView> {
  return api<WhoamiView>('/whoami', { token });
}

/** A path segment, URL-encoded (bundle names hold a `/`). */
export const seg = (value: string) => encodeURIComponent(value);
