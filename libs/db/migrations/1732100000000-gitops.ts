import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The GitOps pipeline: Git sources, the bundles found in them, content-addressed bundle
 * revisions, what Git says each cluster should run (targets), and deployments (what each
 * cluster is told to run and what it reports).
 */
export class GitOps1732100000000 implements MigrationInterface {
  name = 'GitOps1732100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "gitrepos" (
        "name" text PRIMARY KEY,
        "url" text NOT NULL,
        "branch" text,
        "revision" text,
        "paths" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "polling_interval_ms" integer NOT NULL DEFAULT 15000,
        "targets" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "credentials" jsonb,
        "webhook_secret" text,
        "generation" integer NOT NULL DEFAULT 1,
        "synced_generation" integer NOT NULL DEFAULT 0,
        "commit" text,
        "last_synced_at" timestamptz,
        "error" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "bundles" (
        "name" text PRIMARY KEY,
        "gitrepo" text NOT NULL REFERENCES "gitrepos"("name") ON DELETE CASCADE,
        "dir" text NOT NULL,
        "kind" text NOT NULL,
        "commit" text,
        "options" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "rollout_strategy" jsonb,
        "depends_on" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "error" text,
        "error_commit" text,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "bundles_gitrepo_idx" ON "bundles" ("gitrepo")`);
    await q.query(`
      CREATE TABLE "bundle_revisions" (
        "id" text PRIMARY KEY,
        "content" bytea NOT NULL,
        "size" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "variant_renders" (
        "bundle" text NOT NULL,
        "commit" text NOT NULL,
        "variant_key" text NOT NULL,
        "revision" text NOT NULL REFERENCES "bundle_revisions"("id"),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("bundle", "commit", "variant_key")
      )`);
    await q.query(`
      CREATE TABLE "bundle_targets" (
        "bundle" text NOT NULL,
        "cluster" text NOT NULL REFERENCES "clusters"("name") ON DELETE CASCADE,
        "revision" text NOT NULL REFERENCES "bundle_revisions"("id"),
        "commit" text NOT NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("bundle", "cluster")
      )`);
    await q.query(`CREATE INDEX "bundle_targets_cluster_idx" ON "bundle_targets" ("cluster")`);
    await q.query(`
      CREATE TABLE "deployments" (
        "bundle" text NOT NULL,
        "cluster" text NOT NULL REFERENCES "clusters"("name") ON DELETE CASCADE,
        "desired_revision" text REFERENCES "bundle_revisions"("id"),
        "desired_commit" text,
        "applied_revision" text,
        "state" text NOT NULL DEFAULT 'Pending',
        "message" text NOT NULL DEFAULT '',
        "resources" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "reported_at" timestamptz,
        "desired_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("bundle", "cluster")
      )`);
    await q.query(`CREATE INDEX "deployments_cluster_idx" ON "deployments" ("cluster")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'deployments',
      'bundle_targets',
      'variant_renders',
      'bundle_revisions',
      'bundles',
      'gitrepos',
    ]) {
      await q.query(`DROP TABLE "${t}"`);
    }
  }
}
