import { beforeAll, describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../selectors/index.js';
import { useMigratedDatabase } from '../../testing/index.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { ClusterGroupRepository } from './cluster-group.repository.js';

const db = useMigratedDatabase();
let groups: ClusterGroupRepository;

const eu: LabelSelector = { matchLabels: { region: 'eu' } };
const prod: LabelSelector = {
  matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'production'] }],
};

beforeAll(async () => {
  groups = new ClusterGroupRepository(db.ds);
  for (const name of ['eu', 'us', 'asia']) await groups.create(name, eu);
});

describe('ClusterGroupRepository', () => {
  it('creates a group with its selector and reads it back', async () => {
    const created = await groups.create('prod', prod);
    expect(created).toMatchObject({ name: 'prod', selector: prod });
    expect((await groups.get('prod')).selector).toEqual(prod);
  });

  it('refuses a second group of the same name, keeping the first', async () => {
    await expect(groups.create('eu', prod)).rejects.toBeInstanceOf(ConflictError);
    expect((await groups.get('eu')).selector).toEqual(eu);
  });

  it('lists groups by name, one page at a time', async () => {
    const seen: string[][] = [];
    let after: string | undefined;
    do {
      const page = await groups.list({ limit: 2, ...(after ? { after } : {}) });
      seen.push(page.items.map((g) => g.name));
      after = page.continue === undefined ? undefined : page.items.at(-1)!.name;
    } while (after !== undefined);
    expect(seen).toEqual([
      ['asia', 'eu'],
      ['prod', 'us'],
    ]);
  });

  it('replaces a selector', async () => {
    expect((await groups.replaceSelector('asia', prod)).selector).toEqual(prod);
    expect((await groups.get('asia')).selector).toEqual(prod);
  });

  it('deletes a group; the group is gone for every operation', async () => {
    await groups.delete('us');
    await expect(groups.get('us')).rejects.toBeInstanceOf(NotFoundError);
  });

  it.each<[string, () => Promise<unknown>]>([
    ['reading', () => groups.get('none')],
    ['replacing the selector of', () => groups.replaceSelector('none', eu)],
    ['deleting', () => groups.delete('none')],
  ])('%s a group that does not exist is NotFoundError', async (_name, act) => {
    await expect(act()).rejects.toThrow(new NotFoundError('cluster group "none" not found'));
  });
});
