import type { DataSource } from 'typeorm';
import type { SecretBox } from '../secrets/index.js';
import { GitRepoRepository } from './repositories/gitrepo.repository.js';
import { HubSettingsRepository } from './repositories/hub-settings.repository.js';

/** What `prepareSecretsAtRest` did. */
export interface SecretsAtRestReport {
  /** Plaintext values (from a hub before encryption at rest) encrypted now. */
  encrypted: { hubSettings: number; gitrepos: number };
}

/**
 * Run at hub start, after the migrations: checks that `box` holds the key the stored secrets
 * were encrypted with (fails fast otherwise, naming a changed FLOTILLA_SECRET_KEY as the cause),
 * then encrypts in place any secret still stored in plaintext. Migrations cannot do the latter,
 * as they do not know the key. Reads accept both forms meanwhile, so replicas of an older
 * version may keep running during a rolling upgrade; the next start encrypts what they wrote.
 *
 * @throws SecretKeyMismatchError the stored secrets were encrypted with another key
 */
export async function prepareSecretsAtRest(
  ds: DataSource,
  box: SecretBox,
): Promise<SecretsAtRestReport> {
  const settings = new HubSettingsRepository(ds, box);
  await settings.verifySecretKey();
  return {
    encrypted: {
      hubSettings: await settings.encryptLegacyValues(),
      gitrepos: await new GitRepoRepository(ds, box).encryptLegacySecrets(),
    },
  };
}
