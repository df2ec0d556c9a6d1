import { createHash, randomBytes } from 'node:crypto';
import type { TokenPrefix } from '../contracts/tokens.js';

/** A new random token with 256 bits of entropy, e.g. `fla_3q2…`. */
export function generateToken(prefix: TokenPrefix): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** What is stored for a token: its sha256 (tokens are random, so no salt or slow hash is needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
