import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutRecord } from '../../contracts/rollouts.js';
import { rolloutRecord, useMigratedDatabase } from '../../testing/index.js';
import { openDatabase } from '../data-source.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { type PageRequest, parsePageRequest } from '../pagination.js';
import { type Rollout, RolloutRepository } from './rollout.repository.js';

const db = useMigratedDatabase();
let rollouts: RolloutRepository;

const revisions = { c1: { from: 'r1', to: 'r2' }, c2: { from: null, to: 'r2' } };
const start = (bundle: string, toCommit: string, record: RolloutRecord = rolloutRecord()) =>
  rollouts.create({
    bundle,
    fromCommit: 'c0',
    toCommit,
    state: record.state,
    strategy: { stages: [{ name: 'canary' }] },
    record,
    revisions,
  });
const finish = (r: Rollout, state: 'Succeeded' | 'Superseded') =>
  rollouts.update(r.id, { state, record: { ...r.record, state }, reason: null }, r.record);

let first: Rollout;
let second: Rollout;
let other: Rollout;

beforeAll(async () => {
  rollouts = new RolloutRepository(db.ds);
  first = await start('shop/web', 'c1');
  await finish(first, 'Superseded');
  second = await start('shop/web', 'c2');
  other = await start('shop/db', 'c2');
  await finish(other, 'Succeeded');
});

describe('RolloutRepository', () => {
  it('reads a rollout back as written: its record and revisions parsed, not cast', async () => {
    const got = await rollouts.get(second.id);
    expect(got).toMatchObject({
      bundle: 'shop/web',
      fromCommit: 'c0',
      toCommit: 'c2',
      state: 'Progressing',
      strategy: { stages: [{ name: 'canary' }] },
      revisions,
      finishedAt: null,
    });
    expect(got.record).toEqual(rolloutRecord());
    expect(second.record).toEqual(rolloutRecord());
    // The strategy is parsed too: its defaults are filled in, typed, never cast.
    expect(got.strategy).toEqual({
      stages: [{ name: 'canary', requireApproval: false }],
      onFailure: 'pause',
    });
  });

  it.each([
    ['not a uuid', 'abc'],
    ['an unknown uuid', '00000000-0000-4000-8000-000000000000'],
  ])('an id that is %s is not found', async (_name, id) => {
    await expect(rollouts.get(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('the active rollout of a bundle is its unfinished one; the latest may be finished', async () => {
    expect((await rollouts.active('shop/web'))?.id).toBe(second.id);
    expect(await rollouts.active('shop/db')).toBeUndefined();
    expect((await rollouts.latest('shop/db'))?.id).toBe(other.id);
    expect(await rollouts.latest('shop/none')).toBeUndefined();
    expect(await rollouts.activeBundles()).toEqual(['shop/web']);
  });

  it('an update stores the new record and state, and stamps the end of a finished rollout', async () => {
    const done = await rollouts.get(other.id);
    expect(done.state).toBe('Succeeded');
    expect(done.record.state).toBe('Succeeded');
    expect(done.finishedAt).toBeInstanceOf(Date);
    const paused = rolloutRecord({ state: 'Paused', pausedBy: 'alice', reason: 'checking' });
    const r = await start('shop/api', 'c1');
    await rollouts.update(r.id, { state: 'Paused', record: paused, reason: 'checking' }, r.record);
    expect(await rollouts.get(r.id)).toMatchObject({
      state: 'Paused',
      reason: 'checking',
      record: paused,
      finishedAt: null,
    });
  });

  it.each<[string, { bundle?: string; state?: string }, () => Rollout[]]>([
    ['of one bundle, newest first', { bundle: 'shop/web' }, () => [second, first]],
    ['in one state', { state: 'Succeeded' }, () => [other]],
    ['of one bundle in one state', { bundle: 'shop/web', state: 'Superseded' }, () => [first]],
    ['of a bundle without rollouts', { bundle: 'shop/none' }, () => []],
  ])('lists the rollouts %s, one page at a time', async (_name, filter, expected) => {
    const ids: string[] = [];
    let page: PageRequest = { limit: 1 };
    for (;;) {
      const result = await rollouts.list(filter, page);
      ids.push(...result.items.map((r) => r.id));
      const last = result.items.at(-1);
      if (result.continue === undefined || last === undefined) break;
      page = parsePageRequest(1, result.continue);
    }
    expect(ids).toEqual(expected().map((r) => r.id));
  });

  it.each([1, 2, 3])(
    'pages (%i at a time) through rollouts created in the same millisecond, skipping none',
    async (limit) => {
      const bundle = `shop/same-ms-${limit}`;
      // PostgreSQL keeps microseconds: two rows share a microsecond, the others only a millisecond.
      const times = [
        '2026-12-07 01:00:00.123456+00',
        '2026-12-07 01:00:00.123456+00',
        '2026-12-07 01:00:00.123457+00',
        '2026-12-07 01:00:00.123999+00',
        '2026-12-07 01:00:00.124+00',
      ];
      const made: Rollout[] = [];
      for (const at of times) {
        const r = await start(bundle, 'c1');
        await db.ds.query('UPDATE rollouts SET created_at = $2 WHERE id = $1', [r.id, at]);
        made.push(r);
      }
      const ids: string[] = [];
      let page: PageRequest = { limit };
      for (;;) {
        const result = await rollouts.list({ bundle }, page);
        ids.push(...result.items.map((r) => r.id));
        if (result.continue === undefined) break;
        page = parsePageRequest(limit, result.continue);
      }
      const newestFirst = [
        ...made.slice(2).reverse(),
        ...made.slice(0, 2).sort((a, b) => (a.id < b.id ? 1 : -1)),
      ];
      expect(ids).toEqual(newestFirst.map((r) => r.id));
    },
  );

  it.each([
    ['without its id', '2026-12-07T02:00:00.000Z'],
    ['with a time that is not one', `yesterday|${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`],
    ['with an id that is not a uuid', '2026-12-07T02:00:00.000Z|abc'],
  ])('refuses a continue token %s', async (_name, after) => {
    await expect(rollouts.list({}, { limit: 1, after })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('keeps the audit trail of a rollout in order', async () => {
    await rollouts.audit(second.id, [
      { actor: 'system', action: 'Created', toState: 'Pending', detail: { toCommit: 'c2' } },
      { actor: 'alice', action: 'pause', fromState: 'Progressing', toState: 'Paused' },
    ]);
    await rollouts.audit(second.id, []);
    const trail = await rollouts.auditTrail(second.id);
    expect(trail.map((a) => [a.actor, a.action, a.fromState, a.toState, a.detail])).toEqual([
      ['system', 'Created', null, 'Pending', { toCommit: 'c2' }],
      ['alice', 'pause', 'Progressing', 'Paused', {}],
    ]);
    expect(await rollouts.auditTrail(first.id)).toEqual([]);
  });

  it("a rollout created in a pass's transaction that fails leaves nothing behind", async () => {
    await expect(
      db.ds.transaction(async (m) => {
        const r = await rollouts.create(
          {
            bundle: 'shop/tx',
            fromCommit: null,
            toCommit: 'c1',
            state: 'Pending',
            strategy: {},
            record: rolloutRecord({ state: 'Pending' }),
            revisions,
          },
          m,
        );
        await rollouts.audit(r.id, [{ actor: 'system', action: 'Created' }], m);
        expect((await rollouts.active('shop/tx', m))?.id).toBe(r.id);
        throw new Error('the pass failed');
      }),
    ).rejects.toThrow('the pass failed');
    expect(await rollouts.latest('shop/tx')).toBeUndefined();
  });

  it.each<[string, string, unknown]>([
    ['a record in an unknown state', 'record', rolloutRecord({ state: 'Exploded' as 'Paused' })],
    ['a record without its stages', 'record', { ...rolloutRecord(), stages: undefined }],
    ['revisions without their target', 'revisions', { c1: { from: 'r1' } }],
    ['a strategy whose stage has no name', 'strategy', { stages: [{ bakeTime: '1m' }] }],
    ['a strategy with an unknown onFailure', 'strategy', { onFailure: 'explode' }],
  ])('a stored row with %s is an error naming the rollout, never cast', async (_n, column, bad) => {
    const r = await start('shop/broken', `c-${column}-${JSON.stringify(bad).length}`);
    await db.ds.query(`UPDATE rollouts SET ${column} = $2 WHERE id = $1`, [
      r.id,
      JSON.stringify(bad),
    ]);
    await expect(rollouts.get(r.id)).rejects.toThrow(
      new RegExp(`rollout ${r.id}: the stored rollout does not match its contract`),
    );
    await db.ds.query('DELETE FROM rollouts WHERE id = $1', [r.id]);
  });
});

describe('RolloutRepository with two replicas', () => {
  // Two more connection pools stand for two hub replicas.
  const sources: DataSource[] = [];
  beforeAll(async () => {
    sources.push(await openDatabase(db.url), await openDatabase(db.url));
  });
  afterAll(async () => {
    for (const ds of sources) await ds.destroy();
  });
  const replicas = () =>
    sources.map((ds) => new RolloutRepository(ds)) as [RolloutRepository, RolloutRepository];
  const at = (updatedAt: number, state: RolloutRecord['state'] = 'Progressing') =>
    rolloutRecord({ state, updatedAt });

  it('of two replicas saving a transition planned from the same record, exactly one succeeds', async () => {
    const [one, two] = replicas();
    const rollout = await start('race/app', 'c1', at(0));
    const results = await Promise.all(
      [one, two].map((repo, i) =>
        repo.update(
          rollout.id,
          { state: 'Progressing', record: at(i + 1), reason: null },
          rollout.record,
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const saved = await two.get(rollout.id);
    expect(saved.record).toEqual(at(results[0] ? 1 : 2));
    // Planned from the record now stored, the next transition is saved.
    expect(
      await one.update(
        rollout.id,
        { state: 'Succeeded', record: at(3, 'Succeeded'), reason: null },
        saved.record,
      ),
    ).toBe(true);
    expect((await one.get(rollout.id)).finishedAt).not.toBeNull();
  });

  it("the bundle's rollout lock makes a second replica wait until the first one's transaction ends", async () => {
    const [one, two] = replicas();
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const firstLocked = new Promise<void>((resolve) => (locked = resolve));
    const first = sources[0]!.transaction(async (m) => {
      await one.lockBundle('lock/app', m);
      locked();
      await held;
      await start('lock/app', 'c1');
      order.push('first created');
    });
    await firstLocked;
    const second = sources[1]!.transaction(async (m) => {
      await two.lockBundle('lock/app', m);
      order.push(`second sees ${(await two.active('lock/app', m)) ? 'a rollout' : 'none'}`);
    });
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first created', 'second sees a rollout']);
  });
});
