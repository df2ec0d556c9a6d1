import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `gitrepos.last_changed_at`: when the GitRepo last moved to another commit, now that
 * `last_synced_at` moves on every poll. Existing rows start from their last sync.
 */
export class GitRepoLastChanged1732810000000 implements MigrationInterface {
  name = 'GitRepoLastChanged1732810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "gitrepos" ADD COLUMN "last_changed_at" timestamptz`);
    await q.query(
      `UPDATE "gitrepos" SET "last_changed_at" = "last_synced_at" WHERE "commit" IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "gitrepos" DROP COLUMN "last_changed_at"`);
  }
}
