import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { RolloutRepository } from './rollout.repository.js';

let db: TestDatabase;
const sources: DataSource[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // Two connection pools stand for two hub replicas.
  sources.push(await openDatabase(db.url), await openDatabase(db.url));
});
afterAll(async () => {
  for (const ds of sources) await ds.destroy();
  await db?.drop();
});

const record = (state: string, step: number) => ({ state, step, stages: [{ name: 'canary' }] });

async function createRollout(repo: RolloutRepository, bundle: string) {
  return repo.create({
    bundle,
    fromCommit: null,
    toCommit: 'c0ffee',
    state: 'Progressing',
    strategy: {},
    record: record('Progressing', 0),
    revisions: {},
  });
}

describe('RolloutRepository with two replicas', () => {
  it('of two replicas saving a transition planned from the same record, exactly one succeeds', async () => {
    const [one, two] = sources.map((ds) => new RolloutRepository(ds)) as [
      RolloutRepository,
      RolloutRepository,
    ];
    const rollout = await createRollout(one, 'race/app');
    const results = await Promise.all(
      [one, two].map((repo, i) =>
        repo.update(
          rollout.id,
          { state: 'Progressing', record: record('Progressing', i + 1), reason: null },
          rollout.record,
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const saved = await two.get(rollout.id);
    expect(saved.record).toEqual(record('Progressing', results[0] ? 1 : 2));
    // Planned from the record now stored, the next transition is saved.
    expect(
      await one.update(
        rollout.id,
        { state: 'Succeeded', record: record('Succeeded', 3), reason: null },
        saved.record,
      ),
    ).toBe(true);
    expect((await one.get(rollout.id)).finishedAt).not.toBeNull();
  });

  it("the bundle's rollout lock makes a second replica wait until the first one's transaction ends", async () => {
    const [one, two] = sources.map((ds) => new RolloutRepository(ds)) as [
      RolloutRepository,
      RolloutRepository,
    ];
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const firstLocked = new Promise<void>((resolve) => (locked = resolve));
    const first = sources[0]!.transaction(async (m) => {
      await one.lockBundle('lock/app', m);
      locked();
      await held;
      await createRollout(one, 'lock/app');
      order.push('first created');
    });
    await firstLocked;
    const second = sources[1]!.transaction(async (m) => {
      await two.lockBundle('lock/app', m);
      order.push(`second sees ${(await two.active('lock/app', m)) ? 'a rollout' : 'none'}`);
    });
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first created', 'second sees a rollout']);
  });
});
