import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../bundles/index.js';
import {
  MASKED,
  MASKED_AFTER,
  MASKED_BEFORE,
  capText,
  diffObjects,
  unifiedObjectDiff,
} from './object-diff.js';

const cm = (name: string, data: Record<string, string>, ns = 'web'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data,
});
const secret = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'creds', namespace: 'web' },
  data,
});
const deploy = (apiVersion: string, replicas: number): KubeObject => ({
  apiVersion,
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'web' },
  spec: { replicas },
});

describe('diffObjects', () => {
  it.each([
    {
      name: 'identical lists change nothing',
      current: [cm('a', { k: '1' })],
      candidate: [cm('a', { k: '1' })],
      expected: { added: [], removed: [], changed: [], unchanged: 1 },
    },
    {
      name: 'key order does not make a change',
      current: [{ kind: 'ConfigMap', apiVersion: 'v1', metadata: { namespace: 'web', name: 'a' } }],
      candidate: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'web' } },
      ],
      expected: { added: [], removed: [], changed: [], unchanged: 1 },
    },
    {
      name: 'a new object is added, a missing one removed',
      current: [cm('old', {})],
      candidate: [cm('new', {})],
      expected: { added: ['new'], removed: ['old'], changed: [], unchanged: 0 },
    },
    {
      name: 'the same name in another namespace is another object',
      current: [cm('a', {}, 'one')],
      candidate: [cm('a', {}, 'two')],
      expected: { added: ['a'], removed: ['a'], changed: [], unchanged: 0 },
    },
    {
      name: 'a new version of the same API group is a change, not a replacement',
      current: [deploy('apps/v1beta2', 1)],
      candidate: [deploy('apps/v1', 1)],
      expected: { added: [], removed: [], changed: ['api'], unchanged: 0 },
    },
    {
      name: 'objects are listed in a stable order whatever the input order',
      current: [],
      candidate: [cm('b', {}), cm('c', {}), cm('a', {})],
      expected: { added: ['a', 'b', 'c'], removed: [], changed: [], unchanged: 0 },
    },
  ])('$name', ({ current, candidate, expected }) => {
    const d = diffObjects(current, candidate);
    expect({
      added: d.added.map((o) => o.name),
      removed: d.removed.map((o) => o.name),
      changed: d.changed.map((o) => o.name),
      unchanged: d.unchanged,
    }).toEqual(expected);
  });

  it('a changed object carries a unified YAML diff of the lines that changed', () => {
    const d = diffObjects([deploy('apps/v1', 1)], [deploy('apps/v1', 3)]);
    expect(d.changed[0]?.diff).toBe(
      [
        '--- a/Deployment/web/api',
        '+++ b/Deployment/web/api',
        '@@ -4,4 +4,4 @@',
        '   name: api',
        '   namespace: web',
        ' spec:',
        '-  replicas: 1',
        '+  replicas: 3',
        '',
      ].join('\n'),
    );
  });
});

describe('Secret values are never shown', () => {
  it.each([
    {
      name: 'a changed value shows which key changed, not the value',
      before: secret({ password: 'aHVudGVyMg==', user: 'YWRtaW4=' }),
      after: secret({ password: 'c2VjcmV0', user: 'YWRtaW4=' }),
      shows: [`-  password: ${MASKED_BEFORE}`, `+  password: ${MASKED_AFTER}`, `  user: ${MASKED}`],
      hides: ['aHVudGVyMg==', 'c2VjcmV0', 'YWRtaW4='],
    },
    {
      name: 'a new key shows as added, masked',
      before: secret({ user: 'YWRtaW4=' }),
      after: secret({ user: 'YWRtaW4=', token: 'dG9rZW4=' }),
      shows: [`+  token: ${MASKED_AFTER}`],
      hides: ['dG9rZW4=', 'YWRtaW4='],
    },
    {
      name: 'stringData is masked like data',
      before: { ...secret({}), stringData: { url: 'postgres://u:pw@db' } },
      after: { ...secret({}), stringData: { url: 'postgres://u:other@db' } },
      shows: [`+  url: ${MASKED_AFTER}`],
      hides: ['pw@db', 'other@db'],
    },
  ])('$name', ({ before, after, shows, hides }) => {
    const diff = unifiedObjectDiff(before, after);
    for (const s of shows) expect(diff).toContain(s);
    for (const h of hides) expect(diff).not.toContain(h);
  });

  it('a ConfigMap is not masked', () => {
    expect(unifiedObjectDiff(cm('a', { k: 'one' }), cm('a', { k: 'two' }))).toContain('+  k: two');
  });
});

describe('capText', () => {
  it.each([
    { name: 'short text stays', text: 'a\nb\n', max: 10, expected: 'a\nb\n' },
    {
      name: 'long text is cut at a line and says how much is left out',
      text: 'line1\nline2\nline3\n',
      max: 8,
      expected: 'line1\n... (2 more lines)\n',
    },
  ])('$name', ({ text, max, expected }) => {
    expect(capText(text, max)).toBe(expected);
  });
});
