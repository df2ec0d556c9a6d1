import type { DataSource } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase } from '../db/data-source.js';
import type { GitRepoSpec } from '../db/repositories/gitrepo.repository.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** The migrated database of one test file (see {@link useMigratedDatabase}). */
export interface MigratedDatabase {
  /** The hub's data source on it, migrated. */
  readonly ds: DataSource;
  /** Its connection URL (for a second pool, as another replica has). */
  readonly url: string;
}

/**
 * A fresh database of its own for the calling test file, migrated before its tests and dropped
 * after them. Read `ds` inside hooks and tests (it is opened in `beforeAll`).
 */
export function useMigratedDatabase(): MigratedDatabase {
  let db: TestDatabase | undefined;
  let ds: DataSource | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await openDatabase(db.url);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the test database is opened in beforeAll');
    return value;
  };
  return {
    get ds() {
      return opened(ds);
    },
    get url() {
      return opened(db).url;
    },
  };
}

/** A GitRepo spec with everything a test does not care about filled in. */
export function gitRepoSpec(over: Partial<GitRepoSpec> = {}): GitRepoSpec {
  return {
    url: 'https://git.example.com/org/fleet.git',
    branch: 'main',
    revision: null,
    paths: [],
    pollingIntervalMs: 15000,
    targets: [],
    credentials: null,
    webhookSecret: null,
    ...over,
  };
}
