import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Why delivery holds a cluster back from its target (dependencies, later rollout stages). */
export class TargetHolds1732200000000 implements MigrationInterface {
  name = 'TargetHolds1732200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "bundle_targets" ADD COLUMN "hold_reason" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "bundle_targets" DROP COLUMN "hold_reason"`);
  }
}
