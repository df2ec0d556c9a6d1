import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Leases: which rollouts replica drives a bundle's delivery (and so its rollout) right now. */
export class DeliveryLeases1732400000000 implements MigrationInterface {
  name = 'DeliveryLeases1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "delivery_leases" (
        "bundle" text PRIMARY KEY,
        "holder" text NOT NULL,
        "expires_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "delivery_leases"`);
  }
}
