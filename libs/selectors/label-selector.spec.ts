import { describe, it, expect } from 'vitest';
import {
  MAX_SELECTOR_VALUES,
  SelectorError,
  formatSelector,
  matchesLabels,
  parseSelector,
  selectorFromObject,
  selectorToSql,
  toLabelSelector,
  type Requirement,
} from './index.js';

const inReq = (key: string, ...values: string[]): Requirement => ({ key, operator: 'In', values });
const notIn = (key: string, ...values: string[]): Requirement => ({
  key,
  operator: 'NotIn',
  values,
});
const exists = (key: string): Requirement => ({ key, operator: 'Exists', values: [] });
const absent = (key: string): Requirement => ({ key, operator: 'DoesNotExist', values: [] });

describe('parseSelector accepts the Kubernetes string syntax', () => {
  it.each<[string, string, Requirement[]]>([
    ['an empty string selects everything', '', []],
    ['a blank string selects everything', ' \t\n ', []],
    ['= is equality', 'env=prod', [inReq('env', 'prod')]],
    ['== is equality too', 'env==prod', [inReq('env', 'prod')]],
    ['!= is inequality', 'env!=prod', [notIn('env', 'prod')]],
    ['in takes a value set', 'region in (eu,us)', [inReq('region', 'eu', 'us')]],
    ['notin takes a value set', 'region notin (eu,us)', [notIn('region', 'eu', 'us')]],
    ['a bare key means the key exists', 'canary', [exists('canary')]],
    ['!key means the key does not exist', '!legacy', [absent('legacy')]],
    [
      'commas join requirements (AND), sorted by key',
      'tier!=db,env=prod,!legacy,canary',
      [exists('canary'), inReq('env', 'prod'), absent('legacy'), notIn('tier', 'db')],
    ],
    [
      'whitespace is tolerated around every token',
      '  env = prod ,  region  in  ( eu , us )  , ! legacy ',
      [inReq('env', 'prod'), absent('legacy'), inReq('region', 'eu', 'us')],
    ],
    ['in needs no space before its parenthesis', 'region in(eu)', [inReq('region', 'eu')]],
    ['an empty value after = is the empty value', 'env=', [inReq('env', '')]],
    [
      'an empty value may be followed by more requirements',
      'env=,tier',
      [inReq('env', ''), exists('tier')],
    ],
    ['an empty value after != is allowed', 'env!=', [notIn('env', '')]],
    [
      'a trailing comma in a value set adds the empty value',
      'env in (a,)',
      [inReq('env', '', 'a')],
    ],
    [
      'a leading comma in a value set adds the empty value',
      'env notin (,a)',
      [notIn('env', '', 'a')],
    ],
    ['values are sorted and deduplicated', 'env in (b,a,b)', [inReq('env', 'a', 'b')]],
    ['identical requirements collapse', 'env=a,env==a', [inReq('env', 'a')]],
    [
      'contradictory requirements are both kept',
      'env=a,env=b',
      [inReq('env', 'a'), inReq('env', 'b')],
    ],
    [
      'in and notin are ordinary values inside a set',
      'op in (in,notin)',
      [inReq('op', 'in', 'notin')],
    ],
    ['in is an ordinary value after =', 'op=in', [inReq('op', 'in')]],
    ['a prefixed key is allowed', 'example.com/tier=web', [inReq('example.com/tier', 'web')]],
    ['a 63-character value is allowed', `env=${'v'.repeat(63)}`, [inReq('env', 'v'.repeat(63))]],
  ])('%s', (_behaviour, text, expected) => {
    expect(parseSelector(text)).toEqual(expected);
  });
});

describe('parseSelector rejects malformed selectors', () => {
  it.each<[string, string, RegExp]>([
    [
      'in without parentheses',
      'env in prod',
      /expected '\(' after 'in' \(found "prod" at column 8\)/,
    ],
    ['an empty value set', 'env in ()', /'in' needs at least one value \(found "\)" at column 9\)/],
    ['a missing key', '=prod', /expected a label key \(found "=" at column 1\)/],
    [
      'an unclosed value set',
      'env notin (a,b',
      /missing '\)' to close the values of 'notin' \(found the end at column 15\)/,
    ],
    [
      'two words without an operator',
      'a b',
      /expected an operator \(=, ==, !=, in, notin\), ',' or the end of the selector \(found "b" at column 3\)/,
    ],
    [
      'a space inside a value',
      'env=pr od',
      /expected ',' or the end of the selector \(found "od" at column 8\)/,
    ],
    [
      '! with an operator',
      '!env=prod',
      /expected ',' or the end of the selector \(found "=" at column 5\)/,
    ],
    ['a trailing comma', 'env=a,', /expected a label key \(found the end at column 7\)/],
    ['a leading comma', ',env', /expected a label key \(found "," at column 1\)/],
    ['a doubled comma', 'env=a,,tier', /expected a label key \(found "," at column 7\)/],
    ['a key with a space', 'Bad Key=x', /expected an operator .* \(found "Key" at column 5\)/],
    [
      'a key with bad characters',
      'env$=x',
      /invalid key "env\$": name part must consist of alphanumeric characters/,
    ],
    [
      'a key with a bad prefix',
      'Example.com/env',
      /invalid key "Example.com\/env": prefix part must be a lowercase RFC 1123 subdomain/,
    ],
    [
      'a value over 63 characters',
      `env=${'v'.repeat(64)}`,
      /invalid value "v{64}" for key "env": must be no more than 63 characters \(got 64\) \(found "v{64}" at column 5\)/,
    ],
    [
      'a value with bad characters',
      'env=pr$od',
      /invalid value "pr\$od" for key "env": must be empty or consist of/,
    ],
    [
      'a bad value inside a set',
      'env in (ok,-bad)',
      /invalid value "-bad" for key "env".*column 12/,
    ],
    [
      'a tripled equals sign',
      'env===prod',
      /expected a value for key "env" \(found "=" at column 6\)/,
    ],
    [
      'two values in a set without a comma',
      'env in (a b)',
      /expected ',' or '\)' \(found "b" at column 11\)/,
    ],
    [
      'an operator inside a set',
      'env in (a,=)',
      /expected a value, ',' or '\)' \(found "=" at column 11\)/,
    ],
    ['the unsupported gt operator', 'replicas>3', /operator '>' is not supported/],
    ['a double negation', '!!env', /expected a label key \(found "!" at column 2\)/],
    [
      'text after the value set',
      'env in (a) b',
      /expected ',' or the end of the selector \(found "b" at column 12\)/,
    ],
  ])('rejects %s', (_behaviour, text, message) => {
    let error: unknown;
    try {
      parseSelector(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SelectorError);
    expect((error as SelectorError).name).toBe('SelectorError');
    expect((error as SelectorError).message).toContain(
      `invalid label selector ${JSON.stringify(text)}`,
    );
    expect((error as SelectorError).message).toMatch(message);
    expect((error as SelectorError).position).toBeTypeOf('number');
  });
});

const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);

describe('selectors are capped at MAX_SELECTOR_VALUES values', () => {
  it.each<[string, () => unknown]>([
    [
      'a string selector at the cap is accepted',
      () => parseSelector(`k in (${values(1000).join(',')})`),
    ],
    [
      'values and bare keys together at the cap are accepted',
      () => parseSelector(`k in (${values(998).join(',')}),a,!b`),
    ],
    [
      'an object selector at the cap is accepted',
      () =>
        selectorFromObject({
          matchExpressions: [{ key: 'k', operator: 'In', values: values(1000) }],
        }),
    ],
  ])('%s', (_behaviour, parse) => {
    expect(parse).not.toThrow();
    expect(MAX_SELECTOR_VALUES).toBe(1000);
  });

  it.each<[string, () => unknown, RegExp]>([
    [
      'one value over the cap in a string selector',
      () => parseSelector(`k in (${values(1001).join(',')})`),
      /too large: at most 1000 values .*\(got 1001 values\)/,
    ],
    [
      'tens of thousands of values',
      () => parseSelector(`k in (${values(30_000).join(',')})`),
      /too large/,
    ],
    [
      'duplicates count before they are merged',
      () => parseSelector(`k in (${Array(1001).fill('x').join(',')})`),
      /got 1001 values/,
    ],
    ['bare keys count as values', () => parseSelector(values(1001).join(',')), /got 1001 values/],
    [
      'a string selector longer than 64 KiB, before it is parsed',
      () => parseSelector('k'.repeat(64 * 1024 + 1)),
      /got 65537 characters/,
    ],
    [
      'one value over the cap in an object selector',
      () =>
        selectorFromObject({
          matchLabels: { a: 'b' },
          matchExpressions: [{ key: 'k', operator: 'NotIn', values: values(1000) }],
        }),
      /got 1001 values/,
    ],
  ])('%s is refused', (_behaviour, parse, message) => {
    expect(parse).toThrow(SelectorError);
    expect(parse).toThrow(message);
  });
});

describe('selectorFromObject accepts the Kubernetes object form', () => {
  it.each<[string, unknown, Requirement[]]>([
    ['an empty object selects everything', {}, []],
    ['null parts count as absent', { matchLabels: null, matchExpressions: null }, []],
    [
      'matchLabels entries are equalities',
      { matchLabels: { env: 'prod', tier: '' } },
      [inReq('env', 'prod'), inReq('tier', '')],
    ],
    [
      'matchExpressions carry all four operators',
      {
        matchExpressions: [
          { key: 'region', operator: 'In', values: ['us', 'eu'] },
          { key: 'tier', operator: 'NotIn', values: ['db'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist', values: [] },
        ],
      },
      [exists('canary'), absent('legacy'), inReq('region', 'eu', 'us'), notIn('tier', 'db')],
    ],
    [
      'matchLabels and matchExpressions are ANDed',
      {
        matchLabels: { env: 'prod' },
        matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }],
      },
      [inReq('env', 'prod'), notIn('env', 'dev')],
    ],
    [
      'Exists may carry values: null',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: null }] },
      [exists('a')],
    ],
  ])('%s', (_behaviour, input, expected) => {
    expect(selectorFromObject(input)).toEqual(expected);
  });
});

describe('selectorFromObject rejects invalid object forms, naming the field', () => {
  it.each<[string, unknown, string]>([
    [
      'null is not a selector',
      null,
      'invalid label selector: must be an object with matchLabels and/or matchExpressions, got null',
    ],
    [
      'a string is not a selector',
      'env=prod',
      'must be an object with matchLabels and/or matchExpressions, got a string',
    ],
    [
      'an unknown top-level field',
      { matchLabel: { env: 'prod' } },
      'matchLabel: unknown field (expected matchLabels or matchExpressions)',
    ],
    [
      'matchLabels must be an object',
      { matchLabels: ['env'] },
      'matchLabels: must be an object, got an array',
    ],
    [
      'a bad matchLabels key',
      { matchLabels: { 'Bad Key': 'x' } },
      'matchLabels["Bad Key"]: invalid key: name part must consist of alphanumeric',
    ],
    [
      'a non-string matchLabels value',
      { matchLabels: { replicas: 3 } },
      'matchLabels.replicas: value must be a string, got a number',
    ],
    [
      'a bad matchLabels value',
      { matchLabels: { env: 'pr od' } },
      'matchLabels.env: value "pr od" must be empty or consist of',
    ],
    [
      'matchExpressions must be an array',
      { matchExpressions: {} },
      'matchExpressions: must be an array, got a object',
    ],
    [
      'an expression must be an object',
      { matchExpressions: ['env=prod'] },
      'matchExpressions[0]: must be an object with key, operator and values, got a string',
    ],
    [
      'an unknown operator',
      {
        matchExpressions: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'Equals', values: ['x'] },
        ],
      },
      'matchExpressions[1].operator: must be one of In, NotIn, Exists, DoesNotExist',
    ],
    [
      'operators are case-sensitive',
      { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] },
      'matchExpressions[0].operator: must be one of In, NotIn, Exists, DoesNotExist',
    ],
    [
      'a missing operator',
      { matchExpressions: [{ key: 'a' }] },
      'matchExpressions[0].operator: is required',
    ],
    [
      'a missing key',
      { matchExpressions: [{ operator: 'Exists' }] },
      'matchExpressions[0].key: is required',
    ],
    [
      'a non-string key',
      { matchExpressions: [{ key: 7, operator: 'Exists' }] },
      'matchExpressions[0].key: must be a string, got a number',
    ],
    [
      'a bad key',
      { matchExpressions: [{ key: '-a', operator: 'Exists' }] },
      'matchExpressions[0].key: invalid key "-a": name part must consist',
    ],
    [
      'an unknown expression field',
      { matchExpressions: [{ key: 'a', operator: 'Exists', value: 'x' }] },
      'matchExpressions[0].value: unknown field (expected key, operator or values)',
    ],
    [
      'In without values',
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      'matchExpressions[0].values: must be non-empty when operator is In',
    ],
    [
      'NotIn with an empty list',
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
      'matchExpressions[0].values: must be non-empty when operator is NotIn',
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'matchExpressions[0].values: must be empty when operator is Exists',
    ],
    [
      'DoesNotExist with values',
      { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] },
      'matchExpressions[0].values: must be empty when operator is DoesNotExist',
    ],
    [
      'values must be an array',
      { matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] },
      'matchExpressions[0].values: must be an array of strings, got a string',
    ],
    [
      'a non-string value',
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 1] }] },
      'matchExpressions[0].values[1]: must be a string, got a number',
    ],
    [
      'a value over 63 characters',
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['v'.repeat(64)] }] },
      'matchExpressions[0].values[0]: value "' +
        'v'.repeat(64) +
        '" must be no more than 63 characters (got 64)',
    ],
  ])('rejects %s', (_behaviour, input, message) => {
    expect(() => selectorFromObject(input)).toThrow(SelectorError);
    expect(() => selectorFromObject(input)).toThrow(message);
  });

  it('reports every problem at once', () => {
    expect(() =>
      selectorFromObject({
        extra: 1,
        matchExpressions: [
          { key: 'a', operator: 'Nope' },
          { key: 'b', operator: 'In' },
        ],
      }),
    ).toThrow(
      'invalid label selector: extra: unknown field (expected matchLabels or matchExpressions); ' +
        'matchExpressions[0].operator: must be one of In, NotIn, Exists, DoesNotExist; ' +
        'matchExpressions[1].values: must be non-empty when operator is In',
    );
  });
});

describe('toLabelSelector gives the canonical object form', () => {
  it.each<[string, Requirement[], unknown]>([
    ['no requirements give an empty selector', [], {}],
    [
      'single-valued In becomes matchLabels',
      [inReq('env', 'prod')],
      { matchLabels: { env: 'prod' } },
    ],
    [
      'multi-valued In, NotIn, Exists and DoesNotExist become matchExpressions',
      [inReq('region', 'us', 'eu'), notIn('tier', 'db'), exists('canary'), absent('legacy')],
      {
        matchExpressions: [
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
          { key: 'region', operator: 'In', values: ['eu', 'us'] },
          { key: 'tier', operator: 'NotIn', values: ['db'] },
        ],
      },
    ],
    [
      'a second equality on the same key goes to matchExpressions',
      [inReq('env', 'b'), inReq('env', 'a')],
      {
        matchLabels: { env: 'a' },
        matchExpressions: [{ key: 'env', operator: 'In', values: ['b'] }],
      },
    ],
    [
      'single-valued NotIn stays an expression',
      [notIn('env', 'dev'), inReq('env', 'prod')],
      {
        matchLabels: { env: 'prod' },
        matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }],
      },
    ],
  ])('%s', (_behaviour, reqs, expected) => {
    expect(toLabelSelector(reqs)).toEqual(expected);
  });

  it.each([
    ['matchLabels only', { matchLabels: { env: 'prod', tier: 'web' } }],
    [
      'a mix of both parts',
      {
        matchLabels: { env: 'prod' },
        matchExpressions: [
          { key: 'region', operator: 'In', values: ['eu', 'us'] },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      },
    ],
  ])('round-trips through selectorFromObject: %s', (_behaviour, selector) => {
    expect(toLabelSelector(selectorFromObject(selector))).toEqual(selector);
  });
});

describe('formatSelector writes the string syntax back', () => {
  it.each<[string, Requirement[], string]>([
    ['no requirements give an empty string', [], ''],
    ['equality uses =', [inReq('env', 'prod')], 'env=prod'],
    ['inequality uses !=', [notIn('env', 'prod')], 'env!=prod'],
    [
      'value sets use in/notin',
      [inReq('r', 'b', 'a'), notIn('t', 'x', 'y')],
      'r in (a,b),t notin (x,y)',
    ],
    ['presence and absence use key and !key', [absent('b'), exists('a')], 'a,!b'],
    [
      'the empty value is written as nothing',
      [inReq('env', ''), notIn('tier', '', 'db')],
      'env=,tier notin (,db)',
    ],
  ])('%s', (_behaviour, reqs, text) => {
    expect(formatSelector(reqs)).toBe(text);
  });

  it.each([
    ['equality and inequality', 'env=prod,tier!=db'],
    ['value sets', 'region in (eu,us),tier notin (cache,db)'],
    ['presence and absence', 'canary,!legacy'],
    ['empty values everywhere', 'a=,b!=,c in (,x),d notin (,)'],
    [
      'prefixed keys and odd but valid values',
      'example.com/tier=Web_1.2,app.kubernetes.io/name in (a-b,c.d)',
    ],
    ['contradictions on one key', 'env=a,env=b,env!=c'],
    ['messy whitespace and ordering', '  !z , y in ( 2,1 ) ,x==v,w  '],
  ])('round-trips with parseSelector: %s', (_behaviour, text) => {
    const reqs = parseSelector(text);
    expect(parseSelector(formatSelector(reqs))).toEqual(reqs);
    expect(formatSelector(parseSelector(formatSelector(reqs)))).toBe(formatSelector(reqs));
  });

  it.each<[string, Requirement[], string]>([
    ['In without values cannot be written', [inReq('env')], 'In needs at least one value'],
    ['an invalid key cannot be written', [exists('bad key')], 'invalid requirement: key "bad key"'],
    [
      'an invalid value cannot be written',
      [inReq('env', 'a,b')],
      'value "a,b" must be empty or consist',
    ],
  ])('%s', (_behaviour, reqs, message) => {
    expect(() => formatSelector(reqs)).toThrow(SelectorError);
    expect(() => formatSelector(reqs)).toThrow(message);
    expect(() => toLabelSelector(reqs)).toThrow(message);
  });
});

describe('matchesLabels follows Kubernetes semantics', () => {
  const prodEu = { env: 'prod', region: 'eu', tier: '' };
  it.each<[string, string, Record<string, string>, boolean]>([
    ['the empty selector matches any cluster', '', prodEu, true],
    ['the empty selector matches a cluster without labels', '', {}, true],
    ['equality matches the same value', 'env=prod', prodEu, true],
    ['equality rejects another value', 'env=dev', prodEu, false],
    ['equality rejects clusters without the key', 'zone=a', prodEu, false],
    ['equality with the empty value needs the key', 'tier=', prodEu, true],
    ['equality with the empty value rejects clusters without the key', 'zone=', prodEu, false],
    ['values compare case-sensitively', 'env=Prod', prodEu, false],
    ['!= rejects the same value', 'env!=prod', prodEu, false],
    ['!= matches another value', 'env!=dev', prodEu, true],
    ['!= matches clusters without the key', 'zone!=a', prodEu, true],
    ['in matches any listed value', 'region in (us,eu)', prodEu, true],
    ['in rejects unlisted values', 'region in (us,ap)', prodEu, false],
    ['in requires the key', 'zone in (a,b)', prodEu, false],
    ['notin rejects listed values', 'region notin (us,eu)', prodEu, false],
    ['notin matches unlisted values', 'region notin (us,ap)', prodEu, true],
    ['notin matches clusters without the key', 'zone notin (a,b)', prodEu, true],
    ['exists matches a key with an empty value', 'tier', prodEu, true],
    ['exists rejects clusters without the key', 'zone', prodEu, false],
    ['!key matches clusters without the key', '!zone', prodEu, true],
    ['!key rejects a key with an empty value', '!tier', prodEu, false],
    ['all requirements must hold', 'env=prod,region=us', prodEu, false],
    [
      'a conjunction of holding requirements matches',
      'env=prod,region in (eu),!zone,tier',
      prodEu,
      true,
    ],
    ['contradictory equalities match nothing', 'env=prod,env=dev', prodEu, false],
    ['inherited Object.prototype members are not labels', 'constructor', {}, false],
    ['!constructor matches a plain label set', '!constructor', {}, true],
    ['a label named like a prototype member matches', 'constructor=x', { constructor: 'x' }, true],
  ])('%s', (_behaviour, selector, labels, expected) => {
    expect(matchesLabels(parseSelector(selector), labels)).toBe(expected);
  });

  it.each<[string, Requirement[], boolean]>([
    ['In without values matches nothing', [inReq('env')], false],
    ['NotIn without values matches everything', [notIn('env')], true],
  ])('hand-built requirements: %s', (_behaviour, reqs, expected) => {
    expect(matchesLabels(reqs, { env: 'prod' })).toBe(expected);
  });
});

describe('selectorToSql builds parameterized conditions', () => {
  it.each<[string, Requirement[], number, string, unknown[]]>([
    ['no requirements give TRUE', [], 1, 'TRUE', []],
    [
      'equalities merge into one containment',
      [inReq('env', 'prod'), inReq('tier', 'web')],
      1,
      'labels @> $1::jsonb',
      ['{"env":"prod","tier":"web"}'],
    ],
    ['placeholders start at firstParam', [exists('canary')], 4, 'labels ? $4::text', ['canary']],
    [
      'value sets become ORed containments',
      [inReq('r', 'a', 'b')],
      1,
      '(labels @> $1::jsonb OR labels @> $2::jsonb)',
      ['{"r":"a"}', '{"r":"b"}'],
    ],
    [
      'negations are NULL-safe and everything is ANDed',
      [notIn('env', 'dev'), absent('legacy'), inReq('env', 'prod')],
      2,
      '(labels @> $2::jsonb AND (labels @> $3::jsonb) IS NOT TRUE AND (labels ? $4::text) IS NOT TRUE)',
      ['{"env":"prod"}', '{"env":"dev"}', 'legacy'],
    ],
    ['In without values is FALSE', [inReq('env')], 1, 'FALSE', []],
    ['NotIn without values is dropped', [notIn('env')], 1, 'TRUE', []],
    [
      'quotes in keys and values travel only as parameters',
      [inReq("it's", `x"); DROP TABLE t; --`)],
      1,
      'labels @> $1::jsonb',
      [JSON.stringify({ "it's": `x"); DROP TABLE t; --` })],
    ],
  ])('%s', (_behaviour, reqs, first, sql, params) => {
    expect(selectorToSql(reqs, 'labels', first)).toEqual({ sql, params });
  });

  it('rejects a firstParam that is not a positive integer', () => {
    expect(() => selectorToSql([], 'labels', 0)).toThrow(RangeError);
  });
});
