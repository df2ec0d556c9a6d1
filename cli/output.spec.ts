import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatAge, formatLabels, formatResult, formatTable, type TableSpec } from './output.js';

const table: TableSpec = {
  columns: ['name', 'State', 'LAST SEEN'],
  rows: [
    ['eu-1', 'Online', '3s ago'],
    ['us-east-22', 'Pending', null],
  ],
};
const value = { items: [{ name: 'eu-1', labels: { env: 'prod' } }] };

describe('formatResult', () => {
  it('prints 2-space JSON', () => {
    expect(formatResult('json', value, table)).toBe(
      '{\n  "items": [\n    {\n      "name": "eu-1",\n      "labels": {\n        "env": "prod"\n      }\n    }\n  ]\n}\n',
    );
  });

  it('prints YAML that reads back as the value', () => {
    const text = formatResult('yaml', value, table);
    expect(text).toBe('items:\n  - name: eu-1\n    labels:\n      env: prod\n');
    expect(parse(text)).toEqual(value);
  });

  it('prints a borderless table with upper-case headers', () => {
    expect(formatResult('table', value, table)).toBe(
      [
        'NAME         STATE     LAST SEEN',
        'eu-1         Online    3s ago',
        'us-east-22   Pending',
        '',
      ].join('\n'),
    );
  });
});

describe('formatTable', () => {
  it.each([
    { name: 'headers only when empty', spec: { columns: ['a', 'bb'], rows: [] }, out: 'A   BB\n' },
    {
      name: 'the empty message when given',
      spec: { columns: ['a'], rows: [], empty: 'No clusters found.' },
      out: 'No clusters found.\n',
    },
    {
      name: 'numbers and booleans',
      spec: { columns: ['n', 'ok'], rows: [[12, true]] },
      out: 'N    OK\n12   true\n',
    },
    {
      name: 'missing trailing cells as blanks',
      spec: { columns: ['a', 'b', 'c'], rows: [['x']] },
      out: 'A   B   C\nx\n',
    },
  ])('$name', ({ spec, out }) => {
    expect(formatTable(spec)).toBe(out);
  });
});

describe('formatLabels', () => {
  it.each<{ labels: Record<string, string> | null; out: string }>([
    { labels: { region: 'eu', env: 'prod' }, out: 'env=prod,region=eu' },
    { labels: {}, out: '<none>' },
    { labels: null, out: '<none>' },
    { labels: { empty: '' }, out: 'empty=' },
  ])('$labels → $out', ({ labels, out }) => {
    expect(formatLabels(labels)).toBe(out);
  });
});

describe('formatAge', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();
  it.each([
    { at: null, out: 'never' },
    { at: undefined, out: 'never' },
    { at: ago(0), out: 'just now' },
    { at: ago(-5_000), out: 'just now' },
    { at: ago(999), out: 'just now' },
    { at: ago(3_000), out: '3s ago' },
    { at: ago(59_999), out: '59s ago' },
    { at: ago(60_000), out: '1m ago' },
    { at: ago(59 * 60_000), out: '59m ago' },
    { at: ago(2 * 3_600_000 + 5), out: '2h ago' },
    { at: ago(3 * 86_400_000), out: '3d ago' },
    { at: 'not a date', out: 'not a date' },
  ])('$at → $out', ({ at, out }) => {
    expect(formatAge(at, now)).toBe(out);
  });
});
