import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../testing/index.js';
import { matchesLabels, parseSelector, selectorToSql } from './index.js';

// Varied label sets, including empty values, prefixed keys, a key named like an
// Object.prototype member, a cluster without labels and one whose column is NULL.
const clusters: [string, Record<string, string> | null][] = [
  ['prod-eu-1', { env: 'prod', region: 'eu', tier: 'web', ring: 'canary' }],
  ['prod-eu-2', { env: 'prod', region: 'eu', tier: 'db' }],
  ['prod-us-1', { env: 'prod', region: 'us', tier: 'web' }],
  ['prod-us-2', { env: 'prod', region: 'us', tier: 'cache', legacy: 'true' }],
  ['prod-ap-1', { env: 'prod', region: 'ap', 'example.com/team': 'payments' }],
  ['staging-eu', { env: 'staging', region: 'eu', tier: 'web', ring: 'canary' }],
  ['staging-us', { env: 'staging', region: 'us' }],
  ['dev-1', { env: 'dev' }],
  ['dev-2', { env: 'dev', tier: '' }],
  ['dev-empty-env', { env: '', tier: 'web' }],
  ['unlabeled', {}],
  ['null-labels', null],
  ['edge-1', { 'example.com/team': 'edge', region: 'eu', 'node.example.com/gpu': 'a100' }],
  ['edge-2', { 'example.com/team': 'edge', region: 'EU' }],
  ['ctor', { constructor: 'x', env: 'prod' }],
  ['legacy-only', { legacy: '' }],
  ['dotted', { version: '1.2.3', 'app.kubernetes.io/name': 'web' }],
  ['mixed-case', { Env: 'Prod', env: 'prod' }],
  ['quotes-free-but-odd', { 'a.b-c_d': 'x_y.z-1' }],
  ['many', { env: 'staging', region: 'ap', tier: 'db', ring: 'stable', legacy: 'false' }],
];

const selectors: [string, string][] = [
  ['the empty selector selects every cluster', ''],
  ['equality selects clusters with that value', 'env=prod'],
  ['two equalities must both hold', 'env=prod,region=eu'],
  ['equality with the empty value needs the key', 'env='],
  ['!= also selects clusters without the key', 'env!=prod'],
  ['in selects any listed value', 'region in (eu,us)'],
  ['in with the empty value', 'tier in (,web)'],
  ['notin selects clusters without the key', 'tier notin (web,db)'],
  ['exists selects keys with empty values', 'tier'],
  ['!key selects clusters without the key', '!legacy'],
  ['prefixed keys match exactly', 'example.com/team=edge'],
  ['prefixed key presence', 'node.example.com/gpu'],
  ['values compare case-sensitively', 'region=EU'],
  ['keys compare case-sensitively', 'Env=Prod,env=prod'],
  ['a prototype-member key is an ordinary key', 'constructor'],
  ['absence of a prototype-member key', '!constructor,env=prod'],
  ['contradictory equalities select nothing', 'env=prod,env=dev'],
  ['a key that is only a prefix of another does not match it', 'example.com'],
  ['a mix of every operator', 'env in (prod,staging),region notin (ap),tier,!legacy,ring!=stable'],
  ['equality and inequality on one key', 'env=staging,env!=prod,region'],
  ['notin with the empty value excludes empty values', 'env notin (,dev)'],
  ['values with dots', 'version=1.2.3,app.kubernetes.io/name in (web,api)'],
];

describe('selectorToSql on PostgreSQL agrees with matchesLabels', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE clusters (name text PRIMARY KEY, labels jsonb)');
    await client.query('CREATE INDEX clusters_labels_gin ON clusters USING gin (labels)');
    for (const [name, labels] of clusters) {
      await client.query('INSERT INTO clusters (name, labels) VALUES ($1, $2::jsonb)', [
        name,
        labels === null ? null : JSON.stringify(labels),
      ]);
    }
    await client.query('ANALYZE clusters');
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it.each(selectors)('%s (%s)', async (_behaviour, selector) => {
    const reqs = parseSelector(selector);
    const where = selectorToSql(reqs, 'c.labels', 2);
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.name FROM clusters c WHERE c.name <> $1 AND ${where.sql} ORDER BY c.name`,
      ['no-such-cluster', ...where.params],
    );
    const expected = clusters
      .filter(([, labels]) => matchesLabels(reqs, labels ?? {}))
      .map(([name]) => name)
      .sort();
    expect(rows.map((r) => r.name).sort()).toEqual(expected);
  });

  it.each([
    ['equalities use the GIN index', 'env=prod,region=eu'],
    ['presence uses the GIN index', 'node.example.com/gpu'],
    ['value sets use the GIN index', 'region in (eu,us)'],
  ])('%s', async (_behaviour, selector) => {
    const where = selectorToSql(parseSelector(selector), 'labels', 1);
    await client.query('BEGIN');
    try {
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT name FROM clusters WHERE ${where.sql}`,
        where.params,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('clusters_labels_gin');
    } finally {
      await client.query('ROLLBACK');
    }
  });
});
