import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per GitRepo: credentials for Helm repositories and OCI registries (encrypted, keyed by URL
 * prefix) and whether charts may be fetched over plain http.
 */
export class HelmCharts1732790000000 implements MigrationInterface {
  name = 'HelmCharts1732790000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "gitrepos" ADD COLUMN "helm_credentials" text`);
    await q.query(
      `ALTER TABLE "gitrepos" ADD COLUMN "helm_allow_http" boolean NOT NULL DEFAULT false`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "gitrepos" DROP COLUMN "helm_allow_http"`);
    await q.query(`ALTER TABLE "gitrepos" DROP COLUMN "helm_credentials"`);
  }
}
