import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../secrets/index.js';
import { createTestDatabase, gitRepoSpec, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { GitRepoRepository } from './gitrepo.repository.js';

let db: TestDatabase;
let ds: DataSource;
let other: DataSource;
let repos: GitRepoRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  // A second pool, as another replica of the hub would have.
  other = await openDatabase(db.url);
  repos = new GitRepoRepository(ds, new SecretBox(randomBytes(32)));
});
afterAll(async () => {
  await other?.destroy();
  await ds?.destroy();
  await db?.drop();
});

describe('GitRepo sync lock', () => {
  it('one sync of a GitRepo at a time, across replicas; other GitRepos are not held up', async () => {
    const replica = new GitRepoRepository(other, new SecretBox(randomBytes(32)));
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = repos.whileSyncLocked('demo', async () => {
      started();
      await holding;
    });
    await running;
    let ran = false;
    expect(
      await replica.whileSyncLocked('demo', () => {
        ran = true;
        return Promise.resolve();
      }),
    ).toBe(false);
    expect(ran).toBe(false);
    expect(await replica.whileSyncLocked('other', () => Promise.resolve())).toBe(true);
    release();
    expect(await first).toBe(true);
    expect(
      await replica.whileSyncLocked('demo', () => {
        ran = true;
        return Promise.resolve();
      }),
    ).toBe(true);
    expect(ran).toBe(true);
  });

  it('is given up when the sync fails', async () => {
    await expect(
      repos.whileSyncLocked('failing', () => Promise.reject(new Error('sync failed'))),
    ).rejects.toThrow('sync failed');
    expect(await repos.whileSyncLocked('failing', () => Promise.resolve())).toBe(true);
  });
});

describe('GitRepoRepository', () => {
  it('creates a GitRepo and reads it back; a second of the same name is a conflict', async () => {
    const spec = gitRepoSpec({
      paths: ['apps'],
      targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }],
    });
    const created = await repos.create('shop', spec);
    expect(created).toMatchObject({
      name: 'shop',
      url: spec.url,
      paths: ['apps'],
      targets: spec.targets,
      generation: 1,
      commit: null,
    });
    await expect(repos.create('shop', gitRepoSpec())).rejects.toBeInstanceOf(ConflictError);
    for (const name of ['infra', 'apps']) await repos.create(name, gitRepoSpec());
    const page = await repos.list({ limit: 2 });
    expect(page.items.map((g) => g.name)).toEqual(['apps', 'infra']);
    expect((await repos.list({ limit: 2, after: 'infra' })).items.map((g) => g.name)).toEqual([
      'shop',
    ]);
    expect((await repos.all()).map((g) => g.name)).toEqual(['apps', 'infra', 'shop']);
  });

  it.each<[string, number | undefined, string | undefined]>([
    ['without a generation replaces whatever is there', undefined, undefined],
    ['at the generation read replaces it', 0, undefined],
    ['at a stale generation is a conflict', -1, 'changed since it was read'],
  ])('a replace %s', async (_name, offset, error) => {
    const before = await repos.get('infra');
    const expected = offset === undefined ? undefined : before.generation + offset;
    const replace = repos.replace('infra', gitRepoSpec({ branch: 'next' }), expected);
    if (error !== undefined) {
      await expect(replace).rejects.toThrow(error);
      expect((await repos.get('infra')).generation).toBe(before.generation);
    } else {
      expect(await replace).toMatchObject({ branch: 'next', generation: before.generation + 1 });
    }
  });

  it('a sync records its commit; lastChangedAt moves only when the commit does', async () => {
    await repos.recordSynced('apps', 'c1', 1);
    const first = await repos.get('apps');
    expect(first).toMatchObject({ commit: 'c1', syncedGeneration: 1, error: null });
    await repos.recordSynced('apps', 'c1', 1, 'path "x" is missing');
    const again = await repos.get('apps');
    expect(again.lastChangedAt).toEqual(first.lastChangedAt);
    expect(again.error).toBe('path "x" is missing');
    await repos.recordError('apps', 'fetch failed');
    expect(await repos.get('apps')).toMatchObject({ commit: 'c1', error: 'fetch failed' });
  });

  it('values sources are encrypted at rest, decrypted on read, and bump the generation', async () => {
    const before = (await repos.get('shop')).generation;
    const source = {
      kind: 'Secret',
      namespace: 'shop',
      name: 'db',
      data: { 'values.yaml': 'password: hunter2-value' },
    } as const;
    const info = await repos.putValuesSource('shop', source);
    expect(info).toMatchObject({
      kind: 'Secret',
      namespace: 'shop',
      name: 'db',
      keys: ['values.yaml'],
    });
    const raw = await ds.query<{ data: string }[]>('SELECT data FROM gitrepo_values');
    expect(raw[0]!.data).toMatch(/^enc:v1:/);
    expect(JSON.stringify(raw)).not.toContain('hunter2-value');
    const opened = await repos.openValuesSources('shop');
    expect(opened.sources.reveal()).toEqual([source]);
    expect(JSON.stringify(opened)).not.toContain('hunter2-value');
    expect((await repos.get('shop')).generation).toBe(before + 1);

    await repos.putValuesSource('shop', { ...source, data: { 'values.yaml': 'other: 1' } });
    expect((await repos.openValuesSources('shop')).versions).not.toBe(opened.versions);
    await repos.deleteValuesSource('shop', 'Secret', 'shop', 'db');
    expect(await repos.valuesSources('shop')).toEqual([]);
    await expect(repos.deleteValuesSource('shop', 'Secret', 'shop', 'db')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(repos.putValuesSource('none', source)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes a GitRepo once', async () => {
    await repos.delete('apps');
    await expect(repos.get('apps')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repos.delete('apps')).rejects.toBeInstanceOf(NotFoundError);
  });
});
