import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { NotFoundError } from '../errors.js';
import { PLANS_KEPT_PER_GITREPO, PlanRepository } from './plan.repository.js';

let db: TestDatabase;
let ds: DataSource;
let plans: PlanRepository;

const sha = (n: number) => n.toString(16).padStart(40, '0');
const plan = (commit: string, gitrepo = 'demo') => ({
  id: randomUUID(),
  gitrepo,
  commit,
  branch: 'main',
  revision: null,
  trigger: 'api',
  summary: { text: '+0 ~1 -0 objects on 1 cluster in 1 stage' },
  result: { bundles: [] },
});

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  plans = new PlanRepository(ds);
  await ds.query(
    `INSERT INTO gitrepos (name, url) VALUES ('demo', 'file:///x'), ('other', 'file:///y')`,
  );
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

describe('PlanRepository', () => {
  it('reads a plan back by id, and by commit the newest plan of that commit', async () => {
    const first = await plans.save(plan(sha(1)));
    const second = await plans.save(plan(sha(1)));
    expect(await plans.get(first.id)).toMatchObject({
      id: first.id,
      commit: sha(1),
      summary: first.summary,
    });
    expect((await plans.get(sha(1))).id).toBe(second.id);
    expect((await plans.get(sha(1).toUpperCase())).id).toBe(second.id);
  });

  it.each([
    ['an unknown id', randomUUID()],
    ['an unknown commit', sha(999)],
    ['neither an id nor a commit', 'main'],
  ])('%s is not found', async (_name, key) => {
    await expect(plans.get(key)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps the newest plans of each GitRepo only', async () => {
    const kept = await plans.save(plan(sha(5000), 'other'));
    for (let i = 0; i < PLANS_KEPT_PER_GITREPO + 5; i++) await plans.save(plan(sha(1000 + i)));
    const [{ count }] = await ds.query(
      `SELECT count(*)::int AS count FROM plans WHERE gitrepo = 'demo'`,
    );
    expect(count).toBe(PLANS_KEPT_PER_GITREPO);
    await expect(plans.get(sha(1))).rejects.toBeInstanceOf(NotFoundError);
    expect((await plans.get(kept.id)).gitrepo).toBe('other');
  });

  it('a deleted GitRepo takes its plans along', async () => {
    const p = await plans.save(plan(sha(7), 'other'));
    await ds.query(`DELETE FROM gitrepos WHERE name = 'other'`);
    await expect(plans.get(p.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});
