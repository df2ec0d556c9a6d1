import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Hub-wide settings every replica shares, such as the key desired state is signed with. */
export class HubSettings1732500000000 implements MigrationInterface {
  name = 'HubSettings1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "hub_settings" (
        "key" text PRIMARY KEY,
        "value" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "hub_settings"`);
  }
}
