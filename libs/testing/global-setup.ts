import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { adminDatabaseUrl } from './env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Unique per `npm test` run; names databases and NATS subject prefixes. */
    runId: string;
  }
}

/**
 * Gives the run an id so that its databases (`flotilla_t_<run>_*`) and subjects (`t<run>…`)
 * never collide with another run's, and drops the run's databases at the end.
 */
export default function setup(project: TestProject): () => Promise<void> {
  const runId = randomBytes(4).toString('hex');
  project.provide('runId', runId);
  return async () => {
    const client = new pg.Client({ connectionString: adminDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1',
        [`flotilla_t_${runId}_%`],
      );
      for (const row of rows) {
        await client.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
      }
    } finally {
      await client.end();
    }
  };
}
