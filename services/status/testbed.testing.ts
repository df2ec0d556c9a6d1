import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { testNatsUrl, useMigratedDatabase } from '../../libs/testing/index.js';

/** What a status service's medium test runs against (see {@link useStatusTestbed}). */
export interface StatusTestbed {
  /** The hub's data source on the file's own migrated database. */
  readonly ds: DataSource;
  /** The database's connection URL (for a second client). */
  readonly url: string;
  /** A connection to the test NATS server. */
  readonly nc: NatsConnection;
  /** Undone after each test, last added first: streams, subscriptions, services started. */
  readonly cleanups: (() => Promise<unknown>)[];
}

/**
 * A migrated database of its own and a NATS connection for the calling test file, opened before
 * its tests and closed after them; `cleanups` run after every test. Read `ds` and `nc` inside
 * hooks and tests.
 */
export function useStatusTestbed(): StatusTestbed {
  const database = useMigratedDatabase();
  let nc: NatsConnection | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl() });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await nc?.close();
  });
  return {
    get ds() {
      return database.ds;
    },
    get url() {
      return database.url;
    },
    get nc() {
      if (nc === undefined) throw new Error('the NATS connection is opened in beforeAll');
      return nc;
    },
    cleanups,
  };
}
