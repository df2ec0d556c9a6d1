import type { DataSource } from 'typeorm';
import { SecretBox } from '../../secrets/index.js';

/** The setting `verifySecretKey` keeps: proof that this hub's key is the one secrets use. */
const KEY_CHECK = 'secret-key-check';

/**
 * Hub-wide settings: created once (the first replica wins), then the same for every replica.
 * Values are secrets (signing keys, NATS seeds): they are stored encrypted with the hub's
 * SecretBox, bound to their key, and only ever decrypted here.
 */
export class HubSettingsRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly box: SecretBox,
  ) {}

  /** The setting's value, creating it with `make()` when absent. */
  async ensure(key: string, make: () => string): Promise<string> {
    await this.ds.query(
      'INSERT INTO hub_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
      [key, this.box.encrypt(make(), context(key))],
    );
    const rows: { value: string }[] = await this.ds.query(
      'SELECT value FROM hub_settings WHERE key = $1',
      [key],
    );
    return this.open(key, rows[0]!.value);
  }

  /**
   * Fails fast when the hub runs with another key than the one its stored secrets were
   * encrypted with: the first replica stores a check value, every later start decrypts it.
   *
   * @throws SecretKeyMismatchError FLOTILLA_SECRET_KEY (or the key file) changed
   */
  async verifySecretKey(): Promise<void> {
    await this.ensure(KEY_CHECK, () => 'flotilla');
  }

  /**
   * Encrypts values written in plaintext by an earlier version of the hub; returns how many.
   * Idempotent and safe with several replicas: a value is replaced only if still unchanged.
   */
  async encryptLegacyValues(): Promise<number> {
    const rows: { key: string; value: string }[] = await this.ds.query(
      `SELECT key, value FROM hub_settings WHERE value NOT LIKE 'enc:%'`,
    );
    let encrypted = 0;
    for (const { key, value } of rows) {
      const [, affected] = await this.ds.query<[unknown, number]>(
        'UPDATE hub_settings SET value = $3 WHERE key = $1 AND value = $2',
        [key, value, this.box.encrypt(value, context(key))],
      );
      encrypted += affected;
    }
    return encrypted;
  }

  private open(key: string, stored: string): string {
    // Plaintext is what a hub before encryption at rest wrote; the next start encrypts it.
    return SecretBox.isEncrypted(stored) ? this.box.decrypt(stored, context(key)) : stored;
  }
}

function context(key: string): string {
  return `hub_settings:${key}`;
}
