import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The variant (its render key) each target's cluster falls in: two variants that render the
 * same revision would otherwise both claim the cluster (null on rows written before).
 */
export class TargetVariants1732910000000 implements MigrationInterface {
  name = 'TargetVariants1732910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "bundle_targets" ADD COLUMN "variant_key" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "bundle_targets" DROP COLUMN "variant_key"`);
  }
}
