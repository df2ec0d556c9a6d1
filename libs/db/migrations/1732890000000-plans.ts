import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Plans: what a candidate commit of a GitRepo would change on the fleet, computed on request or
 * from a pull/merge request webhook, kept to be read back by id or by commit.
 */
export class Plans1732890000000 implements MigrationInterface {
  name = 'Plans1732890000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "plans" (
        "id" uuid PRIMARY KEY,
        "gitrepo" text NOT NULL,
        "commit" text NOT NULL,
        "branch" text,
        "revision" text,
        "trigger" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "summary" jsonb NOT NULL,
        "result" jsonb NOT NULL,
        CONSTRAINT "plans_gitrepo_fkey" FOREIGN KEY ("gitrepo") REFERENCES "gitrepos"("name") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "plans_gitrepo_commit_idx" ON "plans" ("gitrepo", "commit")`);
    await q.query(`CREATE INDEX "plans_commit_idx" ON "plans" ("commit", "created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "plans"`);
  }
}
