import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per GitRepo: credentials for Helm repositories and OCI registries (encrypted, keyed by URL
 * prefix) and whether charts may be fetched over plain http; per bundle: the charts its last
 * good revision was rendered from.
 */
export class HelmCharts1732850000000 implements MigrationInterface {
  name = 'HelmCharts1732850000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "gitrepos" ADD COLUMN "helm_credentials" text`);
    await q.query(
      `ALTER TABLE "gitrepos" ADD COLUMN "helm_allow_http" boolean NOT NULL DEFAULT false`,
    );
    await q.query(`ALTER TABLE "bundles" ADD COLUMN "charts" jsonb NOT NULL DEFAULT '[]'::jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "bundles" DROP COLUMN "charts"`);
    await q.query(`ALTER TABLE "gitrepos" DROP COLUMN "helm_allow_http"`);
    await q.query(`ALTER TABLE "gitrepos" DROP COLUMN "helm_credentials"`);
  }
}
