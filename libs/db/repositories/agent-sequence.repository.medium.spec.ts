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
    // Every number handed out once: 1..total without gaps or repeats.
    const sorted = [...taken].sort((a, b) => a - b);
    expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, i) => i + 1));

    const restarted = await openDatabase(db.url);
    sources.push(restarted);
    const after = await new AgentSequenceRepository(restarted).take(new Map([['eu-1', 1]]));
    expect(after.get('eu-1')).toBe(sorted.length + 1);
  });

  it('a cluster never seen starts at its count; an empty request asks nothing', async () => {
    const repo = new AgentSequenceRepository(sources[0]!);
    expect(
      await repo.take(
        new Map([
          ['new-1', 3],
          ['new-2', 1],
        ]),
      ),
    ).toEqual(
      new Map([
        ['new-1', 3],
        ['new-2', 1],
      ]),
    );
    expect(await repo.take(new Map())).toEqual(new Map());
  });
});
