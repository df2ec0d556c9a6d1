import { beforeAll, describe, expect, it } from 'vitest';
import { useMigratedDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { NatsRevocationRepository } from './nats-revocation.repository.js';

const db = useMigratedDatabase();
let revocations: NatsRevocationRepository;

beforeAll(() => {
  revocations = new NatsRevocationRepository(db.ds);
});

describe('NatsRevocationRepository', () => {
  it('records revocations once each and lists every key, sorted', async () => {
    await revocations.add(['UB', 'UA'], 'eu-1', 'token-rotated');
    await revocations.add(['UA', 'UC'], 'eu-1', 'cluster-deleted');
    await revocations.add([], 'eu-1', 'cluster-deleted');
    expect(await revocations.userPublicKeys()).toEqual(['UA', 'UB', 'UC']);
  });

  it('a revocation added in a transaction that rolls back is not kept', async () => {
    await expect(
      db.ds.transaction(async (m) => {
        await revocations.add(['UZ'], 'eu-2', 'cluster-deleted', m);
        expect(await revocations.userPublicKeys(m)).toContain('UZ');
        throw new Error('deleting the cluster failed');
      }),
    ).rejects.toThrow('deleting the cluster failed');
    expect(await revocations.userPublicKeys()).not.toContain('UZ');
  });

  it('replicas push the account one at a time, each with every revocation committed before', async () => {
    const other = await openDatabase(db.url);
    try {
      const replica = new NatsRevocationRepository(other);
      let release!: () => void;
      const holding = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const order: string[] = [];
      const first = revocations.whileLocked(async (keys) => {
        entered();
        order.push(`first saw ${keys.length}`);
        await holding;
        await revocations.add(['UD'], 'eu-3', 'cluster-deleted');
        order.push('first done');
      });
      await inside;
      const second = replica.whileLocked((keys) => {
        order.push(`second saw ${keys.join(',')}`);
        return Promise.resolve(keys.length);
      });
      release();
      await first;
      expect(await second).toBe(4);
      expect(order).toEqual(['first saw 3', 'first done', 'second saw UA,UB,UC,UD']);
    } finally {
      await other.destroy();
    }
  });
});
