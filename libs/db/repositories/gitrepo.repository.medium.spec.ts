import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../secrets/index.js';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
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
