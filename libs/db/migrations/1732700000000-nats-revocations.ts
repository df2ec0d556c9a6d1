import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Agents' NATS users that are revoked; the hub lists them in the Flotilla account's JWT. */
export class NatsRevocations1732700000000 implements MigrationInterface {
  name = 'NatsRevocations1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "nats_revocations" (
        "user_public_key" text PRIMARY KEY,
        "cluster_name" text NOT NULL,
        "reason" text NOT NULL,
        "revoked_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "nats_revocations"`);
  }
}
