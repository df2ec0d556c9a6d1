// Secrets at rest: AES-256-GCM encryption of stored credentials and keys (`SecretBox`), the hub's
// key (FLOTILLA_SECRET_KEY or a generated key file), and `Secret`, a wrapper that keeps a value
// out of logs and JSON.

export {
  SECRET_KEY_BYTES,
  SecretBox,
  SecretDecryptError,
  SecretKeyMismatchError,
  secretKeyId,
} from './secret-box.js';
export {
  type LoadedSecretKey,
  SECRET_KEY_FILE,
  SECRET_KEY_FORMAT,
  SecretKeyError,
  generateSecretKey,
  isValidSecretKey,
  loadSecretKey,
  parseSecretKey,
} from './secret-key.js';
export { Secret } from './secret.js';
