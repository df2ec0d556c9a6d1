import { describe, expect, it } from 'vitest';
import { applyLabelChanges, parseLabelArgs } from './labels.js';

describe('parseLabelArgs', () => {
  it.each([
    { args: [], set: {}, remove: [] },
    { args: ['env=prod'], set: { env: 'prod' }, remove: [] },
    { args: ['env=prod', 'region=eu'], set: { env: 'prod', region: 'eu' }, remove: [] },
    { args: ['env='], set: { env: '' }, remove: [] },
    { args: ['a=b=c'], set: { a: 'b=c' }, remove: [] },
    { args: ['env-'], set: {}, remove: ['env'] },
    { args: ['env=prod', 'tier-', 'x-'], set: { env: 'prod' }, remove: ['tier', 'x'] },
    { args: ['flotilla.dev/ring=canary'], set: { 'flotilla.dev/ring': 'canary' }, remove: [] },
    { args: ['k=v-'], set: { k: 'v-' }, remove: [] },
  ])('$args', ({ args, set, remove }) => {
    expect(parseLabelArgs(args)).toEqual({ set, remove });
  });

  it.each([
    { args: ['env'], error: '"env" is not key=value' },
    { args: ['-'], error: '"-" is not key=value' },
    { args: ['=prod'], error: '"=prod" has an empty label key' },
    { args: ['a b=c'], error: 'cannot contain spaces' },
    { args: ['env=a', 'env=b'], error: 'label "env" is given more than once' },
    { args: ['env=a', 'env-'], error: 'label "env" is given more than once' },
  ])('rejects $args', ({ args, error }) => {
    expect(() => parseLabelArgs(args)).toThrow(error);
  });

  it('refuses removals where only key=value makes sense', () => {
    expect(parseLabelArgs(['env=prod'], { allowRemove: false })).toEqual({
      set: { env: 'prod' },
      remove: [],
    });
    expect(() => parseLabelArgs(['env-'], { allowRemove: false })).toThrow(
      '"env-" is not key=value',
    );
  });
});

describe('applyLabelChanges', () => {
  const current = { env: 'prod', region: 'eu' };
  it.each([
    {
      name: 'adds a new key',
      args: ['tier=web'],
      overwrite: false,
      labels: { env: 'prod', region: 'eu', tier: 'web' },
      changed: true,
      warnings: [],
    },
    {
      name: 'removes a key',
      args: ['region-'],
      overwrite: false,
      labels: { env: 'prod' },
      changed: true,
      warnings: [],
    },
    {
      name: 'setting the same value is no change',
      args: ['env=prod'],
      overwrite: false,
      labels: current,
      changed: false,
      warnings: [],
    },
    {
      name: 'changes a value with overwrite',
      args: ['env=staging'],
      overwrite: true,
      labels: { env: 'staging', region: 'eu' },
      changed: true,
      warnings: [],
    },
    {
      name: 'removing an absent key only warns',
      args: ['nope-'],
      overwrite: false,
      labels: current,
      changed: false,
      warnings: ['label "nope" not found'],
    },
    {
      name: 'set, change and remove together',
      args: ['a=1', 'env=dev', 'region-'],
      overwrite: true,
      labels: { env: 'dev', a: '1' },
      changed: true,
      warnings: [],
    },
  ])('$name', ({ args, overwrite, labels, changed, warnings }) => {
    const update = applyLabelChanges(current, parseLabelArgs(args), { overwrite });
    expect(update).toEqual({ labels, changed, warnings });
  });

  it('needs --overwrite to change an existing value, and names the key', () => {
    expect(() => applyLabelChanges(current, parseLabelArgs(['tier=web', 'env=dev']))).toThrow(
      'label "env" already has a value (prod), and --overwrite is false',
    );
  });

  it('does not modify the current labels', () => {
    const before = { ...current };
    applyLabelChanges(current, parseLabelArgs(['x=1', 'env-']));
    expect(current).toEqual(before);
  });
});
