import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Bytes of an AES-256 key. */
export const SECRET_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'enc:';
const VERSION = 'v1';
const SEALED_RE = /^enc:v1:([0-9a-f]{8}):([A-Za-z0-9_-]+)$/;

/** A secret could not be decrypted: another key, a changed value, or not a ciphertext at all. */
export class SecretDecryptError extends Error {
  override name = 'SecretDecryptError';
}

/**
 * The stored secret was encrypted with a key this hub does not have: FLOTILLA_SECRET_KEY (or the
 * key file) changed, or replicas run with different keys.
 */
export class SecretKeyMismatchError extends SecretDecryptError {
  override name = 'SecretKeyMismatchError';
}

/** The id of `key` as written in ciphertexts: a short fingerprint that reveals nothing of it. */
export function secretKeyId(key: Buffer): string {
  return createHash('sha256')
    .update('flotilla secret key id\0')
    .update(key)
    .digest('hex')
    .slice(0, 8);
}

/**
 * Authenticated encryption of secrets at rest: AES-256-GCM with a random 12-byte IV per value.
 *
 * A ciphertext is one self-describing string, `enc:v1:<key id>:<base64url(iv ‖ tag ‖ data)>`:
 * the version names the scheme, the key id names the key (so a changed key is reported as such,
 * and older keys can be kept for decryption while rotating). The optional `context` (e.g.
 * `gitrepos.credentials:demo`) is authenticated too, so a ciphertext copied to another row or
 * column does not decrypt there.
 */
export class SecretBox {
  /** The id of the key new values are encrypted with. */
  readonly keyId: string;
  private readonly key: Buffer;
  private readonly keys: ReadonlyMap<string, Buffer>;

  /**
   * @param key 32 bytes; new values are encrypted with it.
   * @param previousKeys keys that only decrypt: values written before a key rotation.
   */
  constructor(key: Buffer, previousKeys: readonly Buffer[] = []) {
    for (const k of [key, ...previousKeys]) {
      if (k.length !== SECRET_KEY_BYTES) {
        throw new RangeError(`a secret key is ${SECRET_KEY_BYTES} bytes, not ${k.length}`);
      }
    }
    this.key = Buffer.from(key);
    this.keyId = secretKeyId(key);
    const keys = new Map<string, Buffer>();
    for (const k of [...previousKeys].reverse()) keys.set(secretKeyId(k), Buffer.from(k));
    keys.set(this.keyId, this.key);
    this.keys = keys;
  }

  /** Whether `value` looks like a ciphertext of some SecretBox (any key or version). */
  static isEncrypted(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  /** Encrypts `plaintext`; `context` must be given again to decrypt. */
  encrypt(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(aad(this.keyId, context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const payload = Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url');
    return `${PREFIX}${VERSION}:${this.keyId}:${payload}`;
  }

  /**
   * Decrypts what `encrypt` wrote with the same `context`.
   *
   * @throws SecretKeyMismatchError it was encrypted with a key this box does not hold
   * @throws SecretDecryptError it is not a ciphertext, was altered, or belongs to another context
   */
  decrypt(ciphertext: string, context = ''): string {
    const where = context ? ` (${context})` : '';
    if (!SecretBox.isEncrypted(ciphertext)) {
      throw new SecretDecryptError(`stored secret${where} is not encrypted (expected enc:v1:…)`);
    }
    const version = ciphertext.slice(PREFIX.length).split(':', 1)[0] ?? '';
    if (version !== VERSION) {
      throw new SecretDecryptError(
        `stored secret${where} uses encryption format "${version.slice(0, 8)}", which this version of Flotilla does not know (written by a newer hub?)`,
      );
    }
    const m = SEALED_RE.exec(ciphertext);
    const raw = m ? Buffer.from(m[2]!, 'base64url') : Buffer.alloc(0);
    if (!m || raw.length < IV_BYTES + TAG_BYTES) {
      throw new SecretDecryptError(`stored secret${where} is not a valid ciphertext`);
    }
    const keyId = m[1]!;
    const key = this.keys.get(keyId);
    if (key === undefined) {
      throw new SecretKeyMismatchError(
        `stored secret${where} was encrypted with another key (key id ${keyId}; this hub's key id is ${this.keyId}): ` +
          'FLOTILLA_SECRET_KEY (or the secret.key file in the data directory) changed, or the hub replicas do not share one key. ' +
          'Start the hub with the original key.',
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretDecryptError(
        `stored secret${where} failed its integrity check: it was altered, or copied from another record`,
      );
    }
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${PREFIX}${VERSION}:${keyId}:${context}`, 'utf8');
}
