import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API tokens with roles (viewer, operator, admin); only hashes are stored. */
export class ApiTokens1732610000000 implements MigrationInterface {
  name = 'ApiTokens1732610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "api_tokens" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "name" text NOT NULL,
        "role" text NOT NULL,
        "token_hash" text NOT NULL,
        "description" text,
        "expires_at" timestamptz,
        "last_used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "api_tokens_role_check" CHECK ("role" IN ('viewer', 'operator', 'admin'))
      )`);
    await q.query(`CREATE UNIQUE INDEX "api_tokens_name_uq" ON "api_tokens" ("name")`);
    await q.query(`CREATE UNIQUE INDEX "api_tokens_hash_uq" ON "api_tokens" ("token_hash")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "api_tokens"`);
  }
}
