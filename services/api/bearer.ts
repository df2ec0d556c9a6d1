import { UnauthorizedError } from '../../libs/db/index.js';

/** The token of an `Authorization: Bearer <token>` header, or a 401. */
export function bearerToken(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) throw new UnauthorizedError('missing "Authorization: Bearer <token>" header');
  return m[1];
}
