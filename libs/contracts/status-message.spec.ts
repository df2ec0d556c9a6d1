import { describe, expect, it } from 'vitest';
import { StatusMessageSchema } from './delivery.js';
import { parseStatusMessage } from './status-message.js';

const resource = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace: 'web',
  name: 'api',
  state: 'Ready',
  message: '',
};
const report = {
  cluster: 'c1',
  bundle: 'shop/api',
  revision: 'a'.repeat(64),
  state: 'Ready',
  message: 'applied',
  resources: [resource],
  observedAt: '2026-12-07T14:00:00.000Z',
};
const batch = (...reports: unknown[]) => ({ cluster: 'c1', reports });
const without = (o: Record<string, unknown>, key: string) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

// Every input reads as the schema reads it: the same value, or undefined where it refuses.
const cases: [string, unknown][] = [
  ['a batch of one report', batch(report)],
  [
    'a batch of several reports, removed and drifted',
    batch(
      report,
      { ...report, bundle: 'shop/db', state: 'Removed', revision: null, resources: [] },
      {
        ...report,
        bundle: 'shop/web',
        state: 'Modified',
        resources: [
          {
            ...resource,
            state: 'Modified',
            drift: [
              { path: 'spec.replicas', desired: '3', live: '2' },
              { path: 'spec.paused', desired: 'false' },
            ],
          },
        ],
      },
    ),
  ],
  [
    'a report without message or resources (defaults)',
    batch(without(without(report, 'message'), 'resources')),
  ],
  [
    'a resource without namespace or message',
    batch({ ...report, resources: [without(without(resource, 'namespace'), 'message')] }),
  ],
  ['a bare report', report],
  [
    'unknown fields are dropped',
    batch({ ...report, extra: 1, resources: [{ ...resource, extra: 2 }] }),
  ],
  ['an unknown field of the batch is dropped', { ...batch(report), version: 2 }],
  ['an unknown report state', batch({ ...report, state: 'Happy' })],
  ['an unknown resource state', batch({ ...report, resources: [{ ...resource, state: 'Happy' }] })],
  ['a null message', batch({ ...report, message: null })],
  ['a numeric revision', batch({ ...report, revision: 5 })],
  ['no observedAt', batch(without(report, 'observedAt'))],
  ['resources not an array', batch({ ...report, resources: {} })],
  ['drift not an array', batch({ ...report, resources: [{ ...resource, drift: 'x' }] })],
  [
    'a drift without its desired value',
    batch({ ...report, resources: [{ ...resource, drift: [{ path: 'p' }] }] }),
  ],
  ['an empty batch', batch()],
  ['a batch of 101 reports', batch(...Array.from({ length: 101 }, () => report))],
  ['a report that is null', batch(report, null)],
  [
    'a later report refused after an earlier one got its defaults',
    batch(without(report, 'message'), { ...report, state: 'Happy' }),
  ],
  ['a string', 'status'],
  ['null', null],
  ['an array', [report]],
];

describe('parseStatusMessage reads status messages as StatusMessageSchema does', () => {
  it.each(cases)('%s', (_name, input) => {
    const parsed = StatusMessageSchema.safeParse(structuredClone(input));
    const expected = parsed.success ? parsed.data : undefined;
    expect(parseStatusMessage(structuredClone(input))).toEqual(expected);
  });

  it('returns a batch of exactly the schema fields itself, not a copy', () => {
    const input = batch(report, { ...report, bundle: 'shop/db' });
    expect(parseStatusMessage(input)).toBe(input);
  });
});
