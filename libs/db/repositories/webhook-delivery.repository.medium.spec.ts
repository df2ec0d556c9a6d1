import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';

let db: TestDatabase;
// Two connection pools on one database: two hub replicas.
let ds: DataSource;
let other: DataSource;
let replicaA: WebhookDeliveryRepository;
let replicaB: WebhookDeliveryRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  other = await openDatabase(db.url);
  replicaA = new WebhookDeliveryRepository(ds);
  replicaB = new WebhookDeliveryRepository(other);
});
afterAll(async () => {
  await ds?.destroy();
  await other?.destroy();
  await db?.drop();
});
beforeEach(async () => {
  await ds.query('DELETE FROM webhook_deliveries');
});

describe('WebhookDeliveryRepository.claim', () => {
  it('accepts a delivery once, by any of its keys, on every replica', async () => {
    expect(await replicaA.claim(['delivery:github:1', 'body:aa'])).toBe(true);
    expect(await replicaA.claim(['delivery:github:1', 'body:aa'])).toBe(false);
    expect(await replicaB.claim(['delivery:github:1', 'body:aa'])).toBe(false);
    // The same body under a new delivery id, and a known id with another body: replays.
    expect(await replicaB.claim(['delivery:github:2', 'body:aa'])).toBe(false);
    expect(await replicaA.claim(['delivery:github:1', 'body:bb'])).toBe(false);
    expect(await replicaA.claim(['delivery:github:3', 'body:cc'])).toBe(true);
  });

  it('of many replicas claiming one delivery at the same moment, exactly one wins', async () => {
    const keys = ['delivery:gitea:race', 'body:race'];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? replicaA : replicaB).claim(keys)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a delivery once it expires (and drops expired rows)', async () => {
    expect(await replicaA.claim(['delivery:gitlab:old', 'body:old'])).toBe(true);
    const [row] = await ds.query(
      `SELECT expires_at - received_at AS ttl FROM webhook_deliveries WHERE key = 'body:old'`,
    );
    expect(row.ttl).toMatchObject({ days: 30 });
    await ds.query(`UPDATE webhook_deliveries SET expires_at = now() - interval '1 second'`);
    expect(await replicaA.claim(['delivery:gitlab:other', 'body:other'])).toBe(true);
    const keys = (await ds.query('SELECT key FROM webhook_deliveries ORDER BY key')).map(
      (r: { key: string }) => r.key,
    );
    expect(keys).toEqual(['body:other', 'delivery:gitlab:other']);
    expect(await replicaB.claim(['delivery:gitlab:old', 'body:old'])).toBe(true);
  });
});
