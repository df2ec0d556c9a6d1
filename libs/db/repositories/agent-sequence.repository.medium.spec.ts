import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { AgentSequenceRepository } from './agent-sequence.repository.js';

let db: TestDatabase;
const sources: DataSource[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // Two connections pools stand for two hub replicas; a third opens later (a restarted hub).
  sources.push(await openDatabase(db.url), await openDatabase(db.url));
});
afterAll(async () => {
  for (const ds of sources) await ds.destroy();
  await db?.drop();
});

describe('AgentSequenceRepository', () => {
  it('numbers of a cluster strictly increase across replicas taking them at once, and across a restart', async () => {
    const [one, two] = sources.map((ds) => new AgentSequenceRepository(ds));
    const taken: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const repo = i % 2 === 0 ? one! : two!;
        const count = 1 + (i % 3);
        const newest = (
          await repo.take(
            new Map([
              ['eu-1', count],
              [`other-${i}`, 1],
            ]),
          )
        ).get('eu-1')!;
        for (let n = newest - count + 1; n <= newest; n++) taken.push(n);
      }),
    );
    // Every number handed out once (how far apart they are depends on the database clock).
    const sorted = [...taken].sort((a, b) => a - b);
    expect(new Set(sorted).size).toBe(sorted.length);

    const restarted = await openDatabase(db.url);
    sources.push(restarted);
    const after = await new AgentSequenceRepository(restarted).take(new Map([['eu-1', 1]]));
    expect(after.get('eu-1')).toBeGreaterThan(sorted.at(-1)!);
  });

  it('numbers are never below the database clock in milliseconds: a database restored from a backup goes on above what agents saw', async () => {
    const repo = new AgentSequenceRepository(sources[0]!);
    const first = (await repo.take(new Map([['restored', 1]]))).get('restored')!;
    expect(first).toBeGreaterThanOrEqual(Date.now() - 60_000);
    // The backup knew only an old number.
    await sources[0]!.query(`UPDATE agent_sequences SET seq = 5 WHERE cluster = 'restored'`);
    const next = (await repo.take(new Map([['restored', 1]]))).get('restored')!;
    expect(next).toBeGreaterThan(first);
  });

  it('a take of several numbers returns the newest; an empty request asks nothing', async () => {
    const repo = new AgentSequenceRepository(sources[0]!);
    const one = (await repo.take(new Map([['new-1', 3]]))).get('new-1')!;
    const two = (
      await repo.take(
        new Map([
          ['new-1', 2],
          ['new-2', 1],
        ]),
      )
    ).get('new-1')!;
    expect(two - one).toBeGreaterThanOrEqual(2);
    expect(await repo.take(new Map())).toEqual(new Map());
  });
});
