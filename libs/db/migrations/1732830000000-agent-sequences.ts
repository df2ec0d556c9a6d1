import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The newest sequence number the hub gave a signed payload for each cluster: agents refuse a
 * desired state older than the newest they accepted, so the numbers must keep increasing across
 * hub restarts and replicas.
 */
export class AgentSequences1732830000000 implements MigrationInterface {
  name = 'AgentSequences1732830000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "agent_sequences" (
        "cluster" text PRIMARY KEY,
        "seq" bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "agent_sequences"`);
  }
}
