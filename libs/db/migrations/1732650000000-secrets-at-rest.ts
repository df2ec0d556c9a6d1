import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GitRepo credentials become text: they are stored encrypted (`enc:v1:…`) from now on. A
 * migration cannot know the hub's key, so existing plaintext values are only converted to text
 * here; the hub encrypts them in place at its next start (`encryptLegacySecrets`).
 */
export class SecretsAtRest1732650000000 implements MigrationInterface {
  name = 'SecretsAtRest1732650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "gitrepos" ALTER COLUMN "credentials" TYPE text USING "credentials"::text`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Encrypted values stay as JSON strings: nothing is lost, though the old code cannot use them.
    await q.query(
      `ALTER TABLE "gitrepos" ALTER COLUMN "credentials" TYPE jsonb
         USING CASE WHEN "credentials" LIKE 'enc:%' THEN to_jsonb("credentials") ELSE "credentials"::jsonb END`,
    );
  }
}
