import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/index.js';
import { parseSelector } from '../../selectors/index.js';
import { openDatabase } from '../data-source.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { ClusterRepository } from './cluster.repository.js';
import { hashToken } from '../tokens.js';
import { TokenRepository } from './token.repository.js';

let db: TestDatabase;
let ds: DataSource;
let clusters: ClusterRepository;
let tokens: TokenRepository;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  clusters = new ClusterRepository(ds);
  tokens = new TokenRepository(ds);
});

afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

describe('schema', () => {
  it('migrations build exactly the schema the entities describe', async () => {
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('running the migrations again is a no-op', async () => {
    const again = await openDatabase(db.url);
    expect(await again.showMigrations()).toBe(false);
    await again.destroy();
  });
});

describe('ClusterRepository', () => {
  it('registers, refuses a duplicate name, and lists by selector with pagination', async () => {
    await clusters.create('eu-1', { env: 'prod', region: 'eu' });
    await clusters.create('eu-2', { env: 'staging', region: 'eu' });
    await clusters.create('us-1', { env: 'prod', region: 'us' });
    await expect(clusters.create('eu-1', {})).rejects.toBeInstanceOf(ConflictError);

    const prodEu = await clusters.list(parseSelector('env=prod,region in (eu)'), { limit: 10 });
    expect(prodEu.items.map((c) => c.name)).toEqual(['eu-1']);

    const first = await clusters.list([], { limit: 2 });
    expect(first.items.map((c) => c.name)).toEqual(['eu-1', 'eu-2']);
    expect(first.continue).toBeDefined();
    const next = await clusters.list([], { limit: 2, after: 'eu-2' });
    expect(next.items.map((c) => c.name)).toEqual(['us-1']);
    expect(next.continue).toBeUndefined();
  });

  it('answers the labels of the named clusters that exist', async () => {
    expect(await clusters.labelsOf(['us-1', 'eu-1', 'no-such-cluster'])).toEqual(
      new Map([
        ['eu-1', { env: 'prod', region: 'eu' }],
        ['us-1', { env: 'prod', region: 'us' }],
      ]),
    );
    expect(await clusters.labelsOf([])).toEqual(new Map());
  });

  it('heartbeats make a cluster Online once, and an expired lease makes it Offline', async () => {
    await clusters.create('hb-1', {});
    const seenAt = new Date();
    const lease = new Date(seenAt.getTime() + 300);
    const record = {
      name: 'hb-1',
      seenAt,
      leaseExpiresAt: lease,
      agentVersion: '1.0.0',
      kubernetesVersion: 'v1.31.0',
    };
    const changed = await clusters.recordHeartbeats([
      record,
      { ...record, name: 'no-such-cluster' },
    ]);
    expect(changed.map((c) => [c.cluster.name, c.previousState, c.cluster.state])).toEqual([
      ['hb-1', 'Pending', 'Online'],
    ]);
    // A second heartbeat is no transition.
    expect(
      await clusters.recordHeartbeats([{ ...record, seenAt: new Date(seenAt.getTime() + 1) }]),
    ).toEqual([]);

    // Not yet expired: nothing changes.
    expect(await clusters.expireLeases(new Date(lease.getTime() - 1), ['hb-1'])).toEqual([]);
    const expired = await clusters.expireLeases(new Date(lease.getTime() + 1), ['hb-1']);
    expect(expired.map((c) => [c.cluster.name, c.cluster.state])).toEqual([['hb-1', 'Offline']]);
    const stored = await clusters.get('hb-1');
    expect(stored.state).toBe('Offline');
    expect(stored.agentVersion).toBe('1.0.0');
    expect(stored.lastSeen?.getTime()).toBe(seenAt.getTime() + 1);
  });

  it('heartbeat batches and lease expiries over the same clusters, at once, wait for each other instead of deadlocking', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `lk-${String(i).padStart(3, '0')}`);
    for (const name of names) await clusters.create(name, {});
    const beat = (name: string, seenAt: Date, leaseMs: number) => ({
      name,
      seenAt,
      leaseExpiresAt: new Date(seenAt.getTime() + leaseMs),
      agentVersion: '1.0.0',
      kubernetesVersion: 'v1.31.0',
    });
    for (let round = 0; round < 15; round++) {
      const seenAt = new Date(Date.now() + round);
      // Every cluster Online with a lease that has already ended...
      await clusters.recordHeartbeats(names.map((n) => beat(n, seenAt, -1)));
      const later = new Date(seenAt.getTime() + 1);
      // ...then, at once: heartbeats in reverse and shuffled orders renewing them, and expiries
      // of every lapsed one, in two batches each (four multi-row writes over the same rows).
      const reversed = [...names].reverse();
      const shuffled = [...names].sort((a, b) => (a.slice(-1) < b.slice(-1) ? -1 : 1));
      const results = await Promise.allSettled([
        clusters.recordHeartbeats(reversed.map((n) => beat(n, later, 60_000))),
        clusters.expireLeases(new Date(seenAt.getTime() + 1)),
        clusters.recordHeartbeats(shuffled.map((n) => beat(n, later, 60_000))),
        clusters.expireLeases(new Date(seenAt.getTime() + 1), reversed),
      ]);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      // Whatever the order, the renewals are stored: every cluster ends Online or, if an expiry
      // ran first, comes back with the next heartbeat.
      await clusters.recordHeartbeats(
        names.map((n) => beat(n, new Date(later.getTime() + 1), 60_000)),
      );
      expect((await clusters.countByState()).Online).toBeGreaterThanOrEqual(names.length);
    }
  });

  it('deleting a cluster revokes its agent token', async () => {
    await clusters.create('gone', {});
    const token = await tokens.createAgentToken('gone');
    expect(await tokens.clusterForAgentToken(token)).toBe('gone');
    await clusters.delete('gone');
    expect(await tokens.clusterForAgentToken(token)).toBeUndefined();
    await expect(clusters.get('gone')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('TokenRepository', () => {
  it('stores only the hash of a token', async () => {
    await clusters.create('hashed', {});
    const token = await tokens.createAgentToken('hashed');
    const rows: { token_hash: string }[] = await ds.query(
      'SELECT token_hash FROM agent_tokens WHERE cluster_name = $1',
      ['hashed'],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).not.toContain(token.slice(4));
  });

  it('a registration token is used up after maxUses, and a rolled-back use is given back', async () => {
    const { token } = await tokens.createRegistrationToken({
      description: null,
      labels: { env: 'dev' },
      maxUses: 1,
      expiresAt: null,
    });
    await expect(
      ds.transaction(async (m) => {
        expect(await tokens.consumeRegistrationToken(token, m)).toMatchObject({
          labels: { env: 'dev' },
        });
        throw new Error('registration failed later');
      }),
    ).rejects.toThrow('registration failed later');
    expect(await ds.transaction((m) => tokens.consumeRegistrationToken(token, m))).toBeDefined();
    expect(await ds.transaction((m) => tokens.consumeRegistrationToken(token, m))).toBeUndefined();
  });

  it('an expired registration token is refused', async () => {
    const { token } = await tokens.createRegistrationToken({
      description: null,
      labels: {},
      maxUses: null,
      expiresAt: new Date(Date.now() - 1000),
    });
    expect(await ds.transaction((m) => tokens.consumeRegistrationToken(token, m))).toBeUndefined();
  });

  it('rotating an agent token revokes the old one', async () => {
    await clusters.create('rotated', {});
    const old = await tokens.createAgentToken('rotated');
    const { token: fresh, revokedHashes } = await tokens.rotateAgentToken('rotated');
    expect(revokedHashes).toEqual([hashToken(old)]);
    expect(await tokens.liveAgentTokenHashes('rotated')).toEqual([hashToken(fresh)]);
    expect(await tokens.clusterForAgentToken(old)).toBeUndefined();
    expect(await tokens.clusterForAgentToken(fresh)).toBe('rotated');
  });
});
