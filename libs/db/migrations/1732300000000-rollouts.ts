import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Staged rollouts of bundle revisions, and an audit trail of every transition and request. */
export class Rollouts1732300000000 implements MigrationInterface {
  name = 'Rollouts1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "rollouts" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "bundle" text NOT NULL,
        "from_commit" text,
        "to_commit" text NOT NULL,
        "state" text NOT NULL,
        "strategy" jsonb NOT NULL,
        "record" jsonb NOT NULL,
        "revisions" jsonb NOT NULL,
        "reason" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "finished_at" timestamptz
      )`);
    await q.query(`CREATE INDEX "rollouts_bundle_idx" ON "rollouts" ("bundle", "created_at")`);
    await q.query(`CREATE INDEX "rollouts_state_idx" ON "rollouts" ("state")`);
    await q.query(`
      CREATE TABLE "rollout_audit" (
        "id" bigserial PRIMARY KEY,
        "rollout_id" uuid NOT NULL REFERENCES "rollouts"("id") ON DELETE CASCADE,
        "at" timestamptz NOT NULL DEFAULT now(),
        "actor" text NOT NULL,
        "action" text NOT NULL,
        "from_state" text,
        "to_state" text,
        "detail" jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(
      `CREATE INDEX "rollout_audit_rollout_idx" ON "rollout_audit" ("rollout_id", "id")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "rollout_audit"`);
    await q.query(`DROP TABLE "rollouts"`);
  }
}
