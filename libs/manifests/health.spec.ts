import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { assessHealth, type HealthState, type KubeObject } from './index.js';

interface Row {
  name: string;
  object: KubeObject;
  state: HealthState;
  message?: string;
}

const rows = parse(
  readFileSync(new URL('./testdata/health.yaml', import.meta.url), 'utf8'),
) as Row[];

describe('assessHealth', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(assessHealth(row.object)).toEqual({ state: row.state, message: row.message ?? '' });
  });
});
