import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type NotificationEvent,
  NotificationRuleSpecSchema,
  NotificationTargetSpecSchema,
} from '../../notifications/index.js';
import { SecretBox } from '../../secrets/index.js';
import { type TestDatabase, createTestDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { NotificationRepository } from './notification.repository.js';

let db: TestDatabase;
// Two connection pools on one database: two hub replicas.
let ds: DataSource;
let other: DataSource;
let replicaA: NotificationRepository;
let replicaB: NotificationRepository;
const box = new SecretBox(randomBytes(32));

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url);
  other = await openDatabase(db.url);
  replicaA = new NotificationRepository(ds, box);
  replicaB = new NotificationRepository(other, box);
});
afterAll(async () => {
  await ds?.destroy();
  await other?.destroy();
  await db?.drop();
});
beforeEach(async () => {
  await ds.query('DELETE FROM notification_targets');
  await ds.query('DELETE FROM notification_rules');
});

const event = (id: string): NotificationEvent => ({
  id,
  kind: 'ClusterOffline',
  severity: 'warning',
  message: `${id} offline`,
  at: '2026-01-01T00:00:00.000Z',
  cluster: id,
});
const slack = NotificationTargetSpecSchema.parse({
  type: 'slack',
  url: 'https://hooks.slack.test/services/T0/B0/SECRETPATH',
  hmacKey: 'an-hmac-key-of-some-length',
});

describe('NotificationRepository targets and rules', () => {
  it('stores URL and HMAC key encrypted, and gives them back only wrapped', async () => {
    const created = await replicaA.createTarget('slack', slack);
    expect(created.url?.reveal()).toBe(slack.url);
    expect(JSON.stringify(created)).not.toContain('SECRETPATH');
    const [row] = await ds.query<{ url: string; hmac_key: string }[]>(
      `SELECT url, hmac_key FROM notification_targets WHERE name = 'slack'`,
    );
    expect(row?.url).toMatch(/^enc:v1:/);
    expect(row?.hmac_key).toMatch(/^enc:v1:/);
    expect(JSON.stringify(row)).not.toContain('SECRETPATH');
    await expect(replicaA.createTarget('slack', slack)).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps rules, lists them by name, and deletes them', async () => {
    await replicaA.createTarget('slack', slack);
    for (const name of ['b', 'a']) {
      await replicaA.createRule(name, NotificationRuleSpecSchema.parse({ targets: ['slack'] }));
    }
    expect((await replicaA.listRules({ limit: 1 })).items.map((r) => r.name)).toEqual(['a']);
    expect((await replicaA.allRules()).map((r) => r.name)).toEqual(['a', 'b']);
    await replicaA.deleteRule('a');
    await expect(replicaA.getRule('a')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('NotificationRepository outbox', () => {
  it('enqueues an event once per target, even when seen again', async () => {
    await replicaA.createTarget('slack', slack);
    expect(await replicaA.enqueue(event('e1'), ['slack', 'gone'])).toBe(1);
    expect(await replicaB.enqueue(event('e1'), ['slack'])).toBe(0);
  });

  it('lets two replicas claim disjoint deliveries', async () => {
    await replicaA.createTarget('slack', slack);
    for (let i = 0; i < 40; i++) await replicaA.enqueue(event(`c${i}`), ['slack']);
    const [a, b] = await Promise.all([
      replicaA.claimDue(25, 60_000),
      replicaB.claimDue(25, 60_000),
    ]);
    const ids = [...(a ?? []), ...(b ?? [])].map((d) => d.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    // Claimed: leased, so not due again.
    expect(await replicaA.claimDue(10, 60_000)).toEqual([]);
  });

  it('retries, dead-letters after the last attempt, and sends a dead letter again on request', async () => {
    await replicaA.createTarget('slack', slack);
    await replicaA.enqueue(event('d1'), ['slack']);
    const [first] = await replicaA.claimDue(1, 60_000);
    expect(first?.attempts).toBe(1);
    await replicaA.markFailed(first?.id ?? '', 'answered 500', 0);
    const [second] = await replicaA.claimDue(1, 60_000);
    expect(second?.attempts).toBe(2);
    await replicaA.markFailed(second?.id ?? '', 'answered 500', null);
    const dead = await replicaA.listDeliveries({ state: 'Dead' }, { limit: 10 });
    expect(dead.items).toEqual([
      expect.objectContaining({ eventId: 'd1', state: 'Dead', lastError: 'answered 500' }),
    ]);
    await replicaA.retryDead(first?.id ?? '');
    const [again] = await replicaA.claimDue(1, 60_000);
    expect(again).toMatchObject({ eventId: 'd1', attempts: 1 });
    await replicaA.markDelivered(again?.id ?? '');
    expect(
      (await replicaA.listDeliveries({ state: 'Delivered' }, { limit: 10 })).items,
    ).toHaveLength(1);
  });

  it('prunes delivered rows past their time, and nothing else', async () => {
    await replicaA.createTarget('slack', slack);
    await replicaA.enqueue(event('p1'), ['slack']);
    await replicaA.enqueue(event('p2'), ['slack']);
    const [first] = await replicaA.claimDue(1, 60_000);
    await replicaA.markDelivered(first?.id ?? '');
    await ds.query(
      `UPDATE notification_outbox SET delivered_at = now() - interval '8 days' WHERE id = $1`,
      [first?.id],
    );
    expect(await replicaA.pruneDelivered(7 * 24 * 3_600_000)).toBe(1);
    expect((await replicaA.listDeliveries({}, { limit: 10 })).items.map((d) => d.eventId)).toEqual([
      'p2',
    ]);
  });

  it('supersedes a pending commit status retried after its success was delivered', async () => {
    await replicaA.createTarget('forge', NotificationTargetSpecSchema.parse({ type: 'github' }));
    const status = (id: string, kind: NotificationEvent['kind'], commit: string) => ({
      id,
      kind,
      severity: 'info' as const,
      message: kind,
      at: '2026-01-01T00:00:00.000Z',
      gitrepo: 'shop',
      bundle: 'web',
      commit,
    });
    await replicaA.enqueue(status('pending-c1', 'BundleProgressing', 'c1'), ['forge']);
    await replicaA.enqueue(status('success-c1', 'BundleReady', 'c1'), ['forge']);
    await replicaA.enqueue(status('pending-c2', 'BundleProgressing', 'c2'), ['forge']);
    const [pending, success, otherCommit] = await replicaA.claimDue(10, 60_000);
    // The forge refuses the pending; it accepts the success.
    expect(await replicaA.supersedeIfStale(pending!)).toBe(false);
    await replicaA.markFailed(pending!.id, 'answered 502', 0);
    expect(await replicaA.supersedeIfStale(success!)).toBe(false);
    await replicaA.markDelivered(success!.id);
    expect(await replicaA.supersedeIfStale(otherCommit!)).toBe(false);
    await replicaA.markFailed(otherCommit!.id, 'answered 502', 0);
    // The retry of the pending would overwrite the success: superseded, not an error.
    const retried = await replicaB.claimDue(10, 60_000);
    expect(retried.map((d) => d.eventId)).toEqual(['pending-c1', 'pending-c2']);
    expect(await replicaB.supersedeIfStale(retried[0]!)).toBe(true);
    // Another commit's pending is still sent.
    expect(await replicaB.supersedeIfStale(retried[1]!)).toBe(false);
    const superseded = await replicaA.listDeliveries({ state: 'Superseded' }, { limit: 10 });
    expect(superseded.items).toEqual([
      expect.objectContaining({ eventId: 'pending-c1', state: 'Superseded', lastError: null }),
    ]);
    expect((await replicaA.listDeliveries({ state: 'Dead' }, { limit: 10 })).items).toEqual([]);
    await ds.query(`UPDATE notification_outbox SET next_attempt_at = now()`);
    expect((await replicaA.claimDue(10, 60_000)).map((d) => d.eventId)).toEqual(['pending-c2']);
    // Pruned with delivered rows once past their time.
    await ds.query(
      `UPDATE notification_outbox SET next_attempt_at = now() - interval '8 days'
        WHERE state = 'Superseded'`,
    );
    expect(await replicaA.pruneDelivered(7 * 24 * 3_600_000)).toBe(1);
  });

  it('deleting a target drops its deliveries', async () => {
    await replicaA.createTarget('slack', slack);
    await replicaA.enqueue(event('x1'), ['slack']);
    await replicaA.deleteTarget('slack');
    expect((await replicaA.listDeliveries({}, { limit: 10 })).items).toEqual([]);
  });
});
