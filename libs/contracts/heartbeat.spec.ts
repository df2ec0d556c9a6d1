import { describe, expect, it } from 'vitest';
import { readHeartbeat } from './heartbeat.js';
import { HeartbeatSchema } from './messages.js';

const good = {
  cluster: 'c1',
  agentVersion: '0.1.0',
  kubernetesVersion: 'v1.31.0+flotilla-sim',
  intervalMs: 5000,
  sentAt: '2026-01-01T00:00:00.000Z',
};

/** Each case: the value read, and whether the schema (and so readHeartbeat) accepts it. */
const cases: { name: string; value: unknown; ok: boolean }[] = [
  { name: 'a heartbeat', value: good, ok: true },
  { name: 'unknown fields (dropped)', value: { ...good, extra: 1, cluster2: 'x' }, ok: true },
  { name: 'undefined (not JSON)', value: undefined, ok: false },
  { name: 'null', value: null, ok: false },
  { name: 'a string', value: 'c1', ok: false },
  { name: 'a number', value: 5, ok: false },
  { name: 'an array', value: [good], ok: false },
  { name: 'an empty object', value: {}, ok: false },
  { name: 'no cluster', value: { ...good, cluster: undefined }, ok: false },
  { name: 'an empty cluster', value: { ...good, cluster: '' }, ok: false },
  { name: 'a numeric cluster', value: { ...good, cluster: 1 }, ok: false },
  { name: 'a null cluster', value: { ...good, cluster: null }, ok: false },
  { name: 'an empty agentVersion', value: { ...good, agentVersion: '' }, ok: true },
  { name: 'agentVersion of 100', value: { ...good, agentVersion: 'a'.repeat(100) }, ok: true },
  { name: 'agentVersion of 101', value: { ...good, agentVersion: 'a'.repeat(101) }, ok: false },
  {
    name: 'agentVersion of 100 astral characters (200 UTF-16 units: zod counts code points)',
    value: { ...good, agentVersion: '😀'.repeat(100) },
    ok: true,
  },
  {
    name: 'agentVersion of 101 astral characters',
    value: { ...good, agentVersion: '😀'.repeat(101) },
    ok: false,
  },
  {
    name: 'agentVersion of 99 ASCII and 1 astral characters',
    value: { ...good, agentVersion: `${'a'.repeat(99)}😀` },
    ok: true,
  },
  {
    name: 'agentVersion of 101 lone surrogates',
    value: { ...good, agentVersion: '\ud800'.repeat(101) },
    ok: false,
  },
  {
    name: 'agentVersion of 50 pairs between lone surrogates (53 code points)',
    value: { ...good, agentVersion: `\udc00${'😀'.repeat(50)}\ud800\ud800` },
    ok: true,
  },
  {
    name: 'agentVersion of a lone high surrogate, 99 pairs and a letter (101 code points)',
    value: { ...good, agentVersion: `\ud800${'😀'.repeat(99)}a` },
    ok: false,
  },
  {
    name: 'kubernetesVersion of 100 astral characters',
    value: { ...good, kubernetesVersion: '😀'.repeat(100) },
    ok: true,
  },
  { name: 'no agentVersion', value: { ...good, agentVersion: undefined }, ok: false },
  { name: 'a numeric agentVersion', value: { ...good, agentVersion: 1 }, ok: false },
  {
    name: 'kubernetesVersion of 100',
    value: { ...good, kubernetesVersion: 'k'.repeat(100) },
    ok: true,
  },
  {
    name: 'kubernetesVersion of 101',
    value: { ...good, kubernetesVersion: 'k'.repeat(101) },
    ok: false,
  },
  { name: 'no kubernetesVersion', value: { ...good, kubernetesVersion: undefined }, ok: false },
  { name: 'an array kubernetesVersion', value: { ...good, kubernetesVersion: [] }, ok: false },
  { name: 'intervalMs 1', value: { ...good, intervalMs: 1 }, ok: true },
  { name: 'intervalMs 1 h', value: { ...good, intervalMs: 3_600_000 }, ok: true },
  { name: 'intervalMs above 1 h', value: { ...good, intervalMs: 3_600_001 }, ok: false },
  { name: 'intervalMs 0', value: { ...good, intervalMs: 0 }, ok: false },
  { name: 'intervalMs -0', value: { ...good, intervalMs: -0 }, ok: false },
  { name: 'intervalMs negative', value: { ...good, intervalMs: -5000 }, ok: false },
  { name: 'intervalMs fractional', value: { ...good, intervalMs: 5000.5 }, ok: false },
  { name: 'intervalMs 1e400 (Infinity)', value: JSON.parse('{"intervalMs":1e400}'), ok: false },
  { name: 'intervalMs Infinity', value: { ...good, intervalMs: Infinity }, ok: false },
  { name: 'intervalMs NaN', value: { ...good, intervalMs: NaN }, ok: false },
  { name: 'intervalMs a string', value: { ...good, intervalMs: '5000' }, ok: false },
  { name: 'intervalMs a bigint', value: { ...good, intervalMs: 5000n }, ok: false },
  { name: 'no intervalMs', value: { ...good, intervalMs: undefined }, ok: false },
  { name: 'intervalMs null', value: { ...good, intervalMs: null }, ok: false },
  { name: 'an empty sentAt', value: { ...good, sentAt: '' }, ok: true },
  { name: 'sentAt not a date', value: { ...good, sentAt: 'yesterday' }, ok: true },
  { name: 'a numeric sentAt', value: { ...good, sentAt: 0 }, ok: false },
  { name: 'no sentAt', value: { ...good, sentAt: undefined }, ok: false },
  {
    name: 'fields inherited, not own',
    value: Object.create(good) as unknown,
    ok: true,
  },
];

describe('readHeartbeat', () => {
  it.each(cases)('$name: as HeartbeatSchema', ({ value, ok }) => {
    const schema = HeartbeatSchema.safeParse(value);
    expect(schema.success).toBe(ok);
    expect(readHeartbeat(value)).toEqual(schema.success ? schema.data : undefined);
  });
});
