import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Clusters, their agent tokens, registration tokens and cluster groups. */
export class Initial1732000000000 implements MigrationInterface {
  name = 'Initial1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "clusters" (
        "name" text PRIMARY KEY,
        "labels" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "state" text NOT NULL DEFAULT 'Pending',
        "last_seen" timestamptz,
        "lease_expires_at" timestamptz,
        "agent_version" text,
        "kubernetes_version" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "clusters_labels_gin" ON "clusters" USING gin ("labels")`);
    await q.query(`
      CREATE TABLE "agent_tokens" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "cluster_name" text NOT NULL REFERENCES "clusters"("name") ON DELETE CASCADE,
        "token_hash" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX "agent_tokens_hash_uq" ON "agent_tokens" ("token_hash")`);
    await q.query(`CREATE INDEX "agent_tokens_cluster_idx" ON "agent_tokens" ("cluster_name")`);
    await q.query(`
      CREATE TABLE "registration_tokens" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "token_hash" text NOT NULL,
        "description" text,
        "labels" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "max_uses" integer,
        "uses" integer NOT NULL DEFAULT 0,
        "expires_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "registration_tokens_hash_uq" ON "registration_tokens" ("token_hash")`,
    );
    await q.query(`
      CREATE TABLE "cluster_groups" (
        "name" text PRIMARY KEY,
        "selector" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "cluster_groups"`);
    await q.query(`DROP TABLE "registration_tokens"`);
    await q.query(`DROP TABLE "agent_tokens"`);
    await q.query(`DROP TABLE "clusters"`);
  }
}
