import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Push webhook deliveries already acted on, so that a replayed one is ignored. */
export class WebhookDeliveries1732760000000 implements MigrationInterface {
  name = 'WebhookDeliveries1732760000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "webhook_deliveries" (
        "key" text PRIMARY KEY,
        "received_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX "webhook_deliveries_expires_idx" ON "webhook_deliveries" ("expires_at")`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "webhook_deliveries"`);
  }
}
