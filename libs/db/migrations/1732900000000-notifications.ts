import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Notification targets and rules, and the outbox of deliveries to them. */
export class Notifications1732900000000 implements MigrationInterface {
  name = 'Notifications1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "notification_targets" (
        "name" text PRIMARY KEY,
        "type" text NOT NULL,
        "url" text,
        "hmac_key" text,
        "token" text,
        "allow_http" boolean NOT NULL DEFAULT false,
        "rate_limit_per_minute" integer NOT NULL,
        "timeout_ms" integer NOT NULL,
        "context" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "notification_rules" (
        "name" text PRIMARY KEY,
        "spec" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "notification_outbox" (
        "id" bigserial PRIMARY KEY,
        "event_id" text NOT NULL,
        "target" text NOT NULL REFERENCES "notification_targets"("name") ON DELETE CASCADE,
        "event" jsonb NOT NULL,
        "state" text NOT NULL DEFAULT 'Pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "last_error" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "delivered_at" timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "notification_outbox_event_target_idx" ON "notification_outbox" ("event_id", "target")`,
    );
    await q.query(
      `CREATE INDEX "notification_outbox_due_idx" ON "notification_outbox" ("state", "next_attempt_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "notification_outbox"`);
    await q.query(`DROP TABLE "notification_rules"`);
    await q.query(`DROP TABLE "notification_targets"`);
  }
}
