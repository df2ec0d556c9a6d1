// Errors of the git layer. Callers decide on `retryable` (poll again with backoff) or surface the
// message to the user; messages never carry credentials.

/** Base class of every error this library throws; `retryable` says whether a later try may help. */
export class GitError extends Error {
  override name = 'GitError';
  readonly retryable: boolean;

  constructor(message: string, { retryable = false }: { retryable?: boolean } = {}) {
    super(redactCredentials(message));
    this.retryable = retryable;
  }
}

/** The server refused the credentials (HTTP 401/403) or none were given. Not retryable. */
export class GitAuthError extends GitError {
  override name = 'GitAuthError';
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** The branch, revision or commit does not exist (on the remote or in the repository). */
export class GitRefNotFoundError extends GitError {
  override name = 'GitRefNotFoundError';
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** The remote could not be reached: network, DNS, timeouts, HTTP 5xx/408/429. Retryable. */
export class GitUnreachableError extends GitError {
  override name = 'GitUnreachableError';
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/**
 * A transfer from the remote went past the byte limit (`maxFetchBytes` of `GitSource`,
 * FLOTILLA_GIT_MAX_BYTES on the hub) and was stopped while streaming. Not retryable: the
 * repository will not shrink by itself.
 */
export class GitTooLargeError extends GitError {
  override name = 'GitTooLargeError';
  readonly limitBytes: number;
  constructor(message: string, limitBytes: number) {
    super(message, { retryable: false });
    this.limitBytes = limitBytes;
  }
}

/** `n` bytes for people: `512 B`, `1.5 KiB`, `256 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/** Longest excerpt of remote-supplied text (a status line, an error line) put in a message. */
export const REMOTE_TEXT_MAX = 200;

/**
 * Text a remote sent, made fit for a message or a log line: control characters (ANSI escapes,
 * newlines) become spaces, runs of white space one space, and it is cut to `max` characters.
 */
export function excerpt(text: string, max = REMOTE_TEXT_MAX): string {
  const flat = text
    // eslint-disable-next-line no-control-regex -- control characters are what it removes
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length <= max
    ? flat
    : `${flat.slice(0, max)}… (${flat.length - max} more characters)`;
}

/**
 * A path is missing from a commit's tree (or is not of the requested kind). `code` is `ENOENT`
 * (missing) or `ENOTDIR`/`EISDIR` (wrong kind), like the file system's errors, so code that
 * reads a `FileTree` can treat trees from git and from disk alike.
 */
export class GitPathNotFoundError extends GitError {
  override name = 'GitPathNotFoundError';
  readonly path: string;
  readonly code: 'ENOENT' | 'ENOTDIR' | 'EISDIR';

  constructor(path: string, message: string, code: 'ENOENT' | 'ENOTDIR' | 'EISDIR' = 'ENOENT') {
    super(message, { retryable: false });
    this.path = path;
    this.code = code;
  }
}

/**
 * Removes credentials from URLs in `text`: `https://user:pass@host` and `https://token@host`
 * become `https://***@host`.
 */
export function redactCredentials(text: string): string {
  // A scheme starts where no scheme character precedes it: without that, a long run of letters
  // is scanned again from each of its positions (quadratic in the remote's text).
  return text.replace(/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}

/** `url` without user info, for messages and cache keys. Unparsable input is redacted as text. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return redactCredentials(url);
  }
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Context for `toGitError`: what was attempted, and secrets to scrub from the underlying message. */
export interface GitErrorContext {
  /** e.g. `fetching branch main from https://host/org/repo.git` (already redacted). */
  action: string;
  /** Literal secrets (passwords, tokens) that must never appear in the message. */
  secrets?: readonly string[];
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = redactCredentials(text);
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * Maps anything thrown by isomorphic-git, the HTTP client or the file system to a `GitError`
 * subclass: HTTP 401/403 → `GitAuthError`; network errors, timeouts, 408/429/5xx →
 * `GitUnreachableError`; a missing ref or object → `GitRefNotFoundError`; anything else →
 * `GitError` (not retryable). `GitError`s pass through unchanged, except that a
 * `GitTooLargeError` from the HTTP client gets the action in front.
 */
export function toGitError(err: unknown, { action, secrets = [] }: GitErrorContext): GitError {
  // Raised inside the HTTP client, which does not know what was being fetched.
  if (err instanceof GitTooLargeError && !err.message.startsWith(action)) {
    return new GitTooLargeError(`${action}: ${err.message}`, err.limitBytes);
  }
  if (err instanceof GitError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    message?: unknown;
    data?: { statusCode?: unknown; statusMessage?: unknown; what?: unknown };
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const raw = typeof e.message === 'string' ? e.message : String(err);
  // The message may quote the remote (an ERR line, a reply that is not git): an excerpt only.
  const firstLine = raw.split('\n', 1)[0] ?? raw;
  // Bounded before it is scrubbed; what survives the excerpt is far shorter than the bound.
  const detail = excerpt(scrub(firstLine.slice(0, 8 * REMOTE_TEXT_MAX), secrets));

  if (code === 'HttpError') {
    const status = typeof e.data?.statusCode === 'number' ? e.data.statusCode : 0;
    const statusText =
      typeof e.data?.statusMessage === 'string' ? excerpt(e.data.statusMessage, 80) : '';
    const http = scrub(`HTTP ${status}${statusText ? ` ${statusText}` : ''}`, secrets);
    if (status === 401 || status === 403) {
      return new GitAuthError(`${action}: authentication failed (${http})`);
    }
    if (status === 408 || status === 429 || status >= 500) {
      return new GitUnreachableError(`${action}: server error (${http})`);
    }
    if (status === 404) {
      return new GitError(`${action}: repository not found (${http})`);
    }
    return new GitError(`${action}: unexpected response (${http})`);
  }
  if (code === 'UserCanceledError') {
    return new GitAuthError(`${action}: authentication failed`);
  }
  if (code === 'NotFoundError') {
    return new GitRefNotFoundError(`${action}: not found (${detail})`);
  }
  if (code === 'EmptyServerResponseError') {
    return new GitUnreachableError(`${action}: empty response from server`);
  }
  if (code === 'SmartHttpError') {
    return new GitError(`${action}: the server does not speak the git smart HTTP protocol`);
  }
  if (code !== undefined && networkCodes.has(code)) {
    return new GitUnreachableError(`${action}: ${code} (${detail})`);
  }
  return new GitError(`${action}: ${detail}`);
}
