import { describe, it, expect } from 'vitest';
import {
  mergeRegistrationLabels,
  validateClusterName,
  validateLabelKey,
  validateLabelValue,
  validateLabels,
} from './labels.js';

const NAME_RULE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

describe('validateClusterName', () => {
  it.each([
    ['a single letter is a name', 'a'],
    ['lower case, digits and inner dashes are allowed', 'eu-west-1'],
    ['a name may start with a digit', '1cluster'],
    ['63 characters are allowed', 'a'.repeat(63)],
  ])('%s', (_behaviour, name) => {
    expect(validateClusterName(name)).toBeUndefined();
  });

  it.each([
    ['an empty name is rejected', '', /must not be empty/],
    ['64 characters are too many', 'a'.repeat(64), /no more than 63 characters \(got 64\)/],
    ['upper case is rejected', 'EU-1', /lowercase RFC 1123 label/],
    ['a leading dash is rejected', '-eu', /starting and ending with an alphanumeric/],
    ['a trailing dash is rejected', 'eu-', /starting and ending with an alphanumeric/],
    ['dots are rejected (a label, not a subdomain)', 'eu.west', /lowercase RFC 1123 label/],
    ['underscores are rejected', 'eu_west', /lowercase RFC 1123 label/],
    ['NATS wildcards are rejected', 'eu*', /lowercase RFC 1123 label/],
  ])('%s', (_behaviour, name, message) => {
    expect(validateClusterName(name)).toMatch(message);
  });
});

describe('validateLabelKey', () => {
  it.each([
    ['a plain name is a key', 'env'],
    ['mixed case, dots, dashes and underscores are allowed inside', 'My_app.tier-1'],
    ['a DNS subdomain prefix is allowed', 'example.com/tier'],
    ['the well-known Kubernetes prefix is allowed', 'app.kubernetes.io/name'],
    ['a 63-character name is allowed', 'k'.repeat(63)],
    [
      'a 253-character prefix is allowed',
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}/x`,
    ],
    ['a key named like an Object.prototype member is just a key', 'constructor'],
  ])('%s', (_behaviour, key) => {
    expect(validateLabelKey(key)).toBeUndefined();
  });

  it.each([
    ['an empty key is rejected', '', 'name part must be non-empty'],
    ['a space is rejected', 'Bad Key', NAME_RULE],
    ['a leading dot is rejected', '.env', NAME_RULE],
    ['a trailing underscore is rejected', 'env_', NAME_RULE],
    [
      'a 64-character name is rejected',
      'k'.repeat(64),
      'name part must be no more than 63 characters (got 64)',
    ],
    ['an empty name after the prefix is rejected', 'example.com/', 'name part must be non-empty'],
    ['an empty prefix is rejected', '/env', 'prefix part must be non-empty'],
    [
      'an upper-case prefix is rejected',
      'Example.com/env',
      /prefix part must be a lowercase RFC 1123 subdomain/,
    ],
    [
      'a prefix with underscores is rejected',
      'my_org/env',
      /prefix part must be a lowercase RFC 1123 subdomain/,
    ],
    [
      'a 254-character prefix is rejected',
      `${'a'.repeat(254)}/x`,
      /prefix part must be no more than 253 characters/,
    ],
    ['two slashes are rejected', 'a/b/c', /at most one '\/'/],
  ])('%s', (_behaviour, key, message) => {
    expect(validateLabelKey(key)).toMatch(message);
  });
});

describe('validateLabelValue', () => {
  it.each([
    ['an empty value is allowed', ''],
    ['a simple value is allowed', 'prod'],
    ['mixed case, dots, dashes and underscores are allowed inside', 'v1.2.3_RC-1'],
    ['63 characters are allowed', 'v'.repeat(63)],
  ])('%s', (_behaviour, value) => {
    expect(validateLabelValue(value)).toBeUndefined();
  });

  it.each([
    ['64 characters are too many', 'v'.repeat(64), /no more than 63 characters \(got 64\)/],
    ['a space is rejected', 'pr od', /must be empty or consist of alphanumeric characters/],
    ['a slash is rejected', 'a/b', /must be empty or consist/],
    ['a leading dash is rejected', '-prod', /start and end with an alphanumeric/],
  ])('%s', (_behaviour, value, message) => {
    expect(validateLabelValue(value)).toMatch(message);
  });
});

describe('validateLabels', () => {
  it.each([
    ['an empty object is valid', {}, []],
    ['ordinary labels are valid', { env: 'prod', 'example.com/tier': 'web', canary: '' }, []],
    [
      'a bad key is named in the message',
      { 'Bad Key': 'x' },
      [`label key "Bad Key": ${NAME_RULE}`],
    ],
    [
      'a non-string value is named with its key',
      { replicas: 3 },
      ['label "replicas": value must be a string, got a number'],
    ],
    [
      'a bad value is named with its key',
      { env: 'pr od' },
      [
        `label "env": value "pr od" must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      ],
    ],
    [
      'every problem is reported, not just the first',
      { 'a b': 'ok', env: null, tier: 'x'.repeat(64) },
      [
        `label key "a b": ${NAME_RULE}`,
        'label "env": value must be a string, got null',
        `label "tier": value "${'x'.repeat(64)}" must be no more than 63 characters (got 64)`,
      ],
    ],
    [
      'null is not a label set',
      null,
      ['labels must be an object mapping label keys to string values, got null'],
    ],
    [
      'an array is not a label set',
      ['env'],
      ['labels must be an object mapping label keys to string values, got an array'],
    ],
    [
      'a string is not a label set',
      'env=prod',
      ['labels must be an object mapping label keys to string values, got a string'],
    ],
  ])('%s', (_behaviour, labels: unknown, problems) => {
    expect(validateLabels(labels)).toEqual(problems);
  });
});

describe('mergeRegistrationLabels', () => {
  it.each([
    ['the token labels apply when the agent asks for none', { env: 'dev' }, {}, { env: 'dev' }, []],
    [
      'the agent may add labels of keys the token does not set',
      { env: 'dev' },
      { site: 'edge' },
      { env: 'dev', site: 'edge' },
      [],
    ],
    [
      'repeating a token label with the same value is not an override',
      { env: 'dev' },
      { env: 'dev', site: 'edge' },
      { env: 'dev', site: 'edge' },
      [],
    ],
    [
      'another value for a token key is an override, and the token value stays',
      { env: 'dev', ring: 'main' },
      { env: 'prod', ring: 'canary', site: 'edge' },
      { env: 'dev', ring: 'main', site: 'edge' },
      ['env', 'ring'],
    ],
    ['an empty value is still another value', { env: 'dev' }, { env: '' }, { env: 'dev' }, ['env']],
  ])('%s', (_behaviour, token, requested, labels, overridden) => {
    expect(mergeRegistrationLabels(token, requested)).toEqual({ labels, overridden });
  });
});
