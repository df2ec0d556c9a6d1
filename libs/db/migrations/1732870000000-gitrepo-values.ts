import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per GitRepo: the values sources Fleet's `helm.valuesFrom` refers to (the data of a Secret or
 * ConfigMap, key → YAML, encrypted), and a version that changes with every write.
 */
export class GitRepoValues1732870000000 implements MigrationInterface {
  name = 'GitRepoValues1732870000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "gitrepo_values" (
        "gitrepo" text NOT NULL REFERENCES "gitrepos"("name") ON DELETE CASCADE,
        "kind" text NOT NULL CHECK ("kind" IN ('Secret', 'ConfigMap')),
        "namespace" text NOT NULL,
        "name" text NOT NULL,
        "keys" jsonb NOT NULL,
        "data" text NOT NULL,
        "version" uuid NOT NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("gitrepo", "kind", "namespace", "name")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "gitrepo_values"`);
  }
}
