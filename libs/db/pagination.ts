import { InvalidInputError } from './errors.js';

/** A page request: at most `limit` items after the `after` key. */
export interface PageRequest {
  limit: number;
  after?: string;
}

/** A page of results; `continue` is absent on the last page. */
export interface Page<T> {
  items: T[];
  continue?: string;
}

export const DEFAULT_PAGE_SIZE = 500;
export const MAX_PAGE_SIZE = 5000;

/** Reads `?limit=` and `?continue=`; throws InvalidInputError with a message on bad values. */
export function parsePageRequest(limit: unknown, token: unknown): PageRequest {
  let size = DEFAULT_PAGE_SIZE;
  if (limit !== undefined && limit !== '') {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
      throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    size = n;
  }
  if (token === undefined || token === '') return { limit: size };
  if (typeof token !== 'string') throw new InvalidInputError('continue must be a string');
  return { limit: size, after: decodeContinue(token) };
}

/** Opaque continue token for a page that ends at `key`. */
export function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ a: key }), 'utf8').toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { a?: unknown };
    if (typeof v.a === 'string' && !v.a.includes('\u0000')) return v.a;
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError('continue token is malformed; start the list again without it');
}

/** Turns `limit + 1` fetched rows into a page with a continue token when more exist. */
export function toPage<T>(rows: T[], limit: number, key: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return last === undefined ? { items } : { items, continue: encodeContinue(key(last)) };
}
