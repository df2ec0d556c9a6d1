import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a signed webhook carries: `sha256=<hex HMAC-SHA256 of the body>` (GitHub's form). */
export const SIGNATURE_HEADER = 'X-Flotilla-Signature-256';

/** The signature header value of `body` under `key`. */
export function signBody(key: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

/** Whether `signature` (a header value) is the signature of `body` under `key`; constant time. */
export function verifySignature(key: string, body: string | Buffer, signature: string): boolean {
  const expected = Buffer.from(signBody(key, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
