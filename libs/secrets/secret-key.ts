import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_KEY_BYTES } from './secret-box.js';

/** The key file the hub creates in its data directory when FLOTILLA_SECRET_KEY is not set. */
export const SECRET_KEY_FILE = 'secret.key';

/** How to write a secret key, for messages and docs. */
export const SECRET_KEY_FORMAT =
  'must be 32 random bytes as 64 hex digits or as base64 (e.g. `openssl rand -base64 32`)';

/** A secret key is missing or malformed. Its message never contains the key. */
export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

const HEX_RE = /^[0-9a-fA-F]{64}$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The key `text` encodes (64 hex digits, or base64/base64url of 32 bytes), or undefined. */
function decodeKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (HEX_RE.test(t)) return Buffer.from(t, 'hex');
  if (!BASE64_RE.test(t)) return undefined;
  const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === SECRET_KEY_BYTES ? bytes : undefined;
}

/** Whether `text` is a valid secret key (see `SECRET_KEY_FORMAT`). */
export function isValidSecretKey(text: string): boolean {
  return decodeKey(text) !== undefined;
}

/**
 * The 32-byte key `text` encodes: 64 hex digits, or base64 / base64url (padded or not);
 * surrounding whitespace is ignored.
 *
 * @param source names where the key came from in the error, e.g. `FLOTILLA_SECRET_KEY`
 * @throws SecretKeyError not a key; the message names `source` and the format, never the text
 */
export function parseSecretKey(text: string, source = 'FLOTILLA_SECRET_KEY'): Buffer {
  const key = decodeKey(text);
  if (key === undefined) throw new SecretKeyError(`${source}: ${SECRET_KEY_FORMAT}`);
  return key;
}

/** A new random key, base64-encoded. */
export function generateSecretKey(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('base64');
}

/** The hub's secret key and where it came from. */
export interface LoadedSecretKey {
  key: Buffer;
  /** `env`: FLOTILLA_SECRET_KEY; `file`: the existing key file; `generated`: just created. */
  source: 'env' | 'file' | 'generated';
  /** The key file, unless the key came from the environment. */
  file: string | undefined;
  /** Problems worth a warning, e.g. a key file readable by others. */
  warnings: string[];
}

/**
 * The hub's secret key: `key` (FLOTILLA_SECRET_KEY) when given, else `<dataDir>/secret.key`,
 * created with mode 0600 on first start and reused afterwards. Creation is atomic: processes
 * starting together on one data directory all end up with the same key.
 *
 * @throws SecretKeyError the key file exists but does not hold a valid key
 */
export async function loadSecretKey({
  key,
  dataDir,
}: {
  key: Buffer | undefined;
  dataDir: string;
}): Promise<LoadedSecretKey> {
  if (key !== undefined) {
    if (key.length !== SECRET_KEY_BYTES) {
      throw new SecretKeyError(`FLOTILLA_SECRET_KEY: ${SECRET_KEY_FORMAT}`);
    }
    return { key, source: 'env', file: undefined, warnings: [] };
  }
  const file = join(dataDir, SECRET_KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  const created = await createKeyFile(file);
  const text = await readFile(file, 'utf8');
  const loaded = parseSecretKey(
    text,
    `${file} (delete it only if nothing was encrypted with it yet; or set FLOTILLA_SECRET_KEY)`,
  );
  const warnings: string[] = [];
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    warnings.push(
      `${file} is readable by other users (mode ${mode.toString(8)}): run chmod 600 on it`,
    );
  }
  return { key: loaded, source: created ? 'generated' : 'file', file, warnings };
}

/** Writes a new key to `file` unless it exists; whether this call created it. */
async function createKeyFile(file: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${generateSecretKey()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // link() never replaces an existing file, and the file appears complete or not at all.
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
