// Kubernetes label selectors: the string syntax (`env=prod,region in (eu,us)`, as in
// `kubectl -l` and `?labelSelector=`) and the object form (`matchLabels` / `matchExpressions`,
// as in fleet.yaml and cluster groups), both parsed into one normalized list of requirements that
// can be matched in memory or turned into a PostgreSQL condition.
import { describe, quote, validateLabelKey, validateLabelValue } from './labels.js';

/** The operators of a label selector requirement, as spelled in the Kubernetes object form. */
export const SelectorOperator = {
  /** The label is present and its value is one of the values. */
  In: 'In',
  /** The label is absent, or its value is none of the values. */
  NotIn: 'NotIn',
  /** The label is present, whatever its value. */
  Exists: 'Exists',
  /** The label is absent. */
  DoesNotExist: 'DoesNotExist',
} as const;
/** One of the four selector operators. */
export type SelectorOperator = (typeof SelectorOperator)[keyof typeof SelectorOperator];

/** All selector operators, in the order error messages list them. */
export const selectorOperators: readonly SelectorOperator[] = Object.values(SelectorOperator);

/** One entry of `matchExpressions` in the Kubernetes object form. */
export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

/** The Kubernetes object form of a label selector; all its parts must hold (AND). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * One normalized requirement; a selector is a list of them that must all hold. `values` is
 * sorted and free of duplicates, and empty for Exists and DoesNotExist.
 */
export interface Requirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** Invalid selector input: a malformed string selector or object form, or an unusable requirement. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';

  /**
   * @param message what is wrong, naming the position or field
   * @param position 0-based offset into a string selector where the problem was found
   */
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// String syntax

type TokenKind = 'ident' | '(' | ')' | ',' | '=' | '==' | '!=' | '!' | '<' | '>' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  /** 0-based offset of the token's first character. */
  pos: number;
}

const WHITESPACE = new Set([' ', '\t', '\r', '\n']);
const SPECIAL = new Set(['(', ')', ',', '=', '!', '<', '>']);

/** Splits a string selector into tokens the way the Kubernetes lexer does. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (WHITESPACE.has(ch)) {
      i++;
      continue;
    }
    const next = text.charAt(i + 1);
    if (ch === '=' && next === '=') {
      tokens.push({ kind: '==', text: '==', pos: i });
      i += 2;
    } else if (ch === '!' && next === '=') {
      tokens.push({ kind: '!=', text: '!=', pos: i });
      i += 2;
    } else if (SPECIAL.has(ch)) {
      tokens.push({ kind: ch as TokenKind, text: ch, pos: i });
      i++;
    } else {
      const start = i;
      while (i < text.length && !WHITESPACE.has(text.charAt(i)) && !SPECIAL.has(text.charAt(i))) {
        i++;
      }
      tokens.push({ kind: 'ident', text: text.slice(start, i), pos: start });
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

const EXPECTED_OPERATOR =
  "expected an operator (=, ==, !=, in, notin), ',' or the end of the selector";

/** Recursive-descent parser over the tokens of one string selector. */
class Parser {
  private index = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    if (this.peek().kind === 'eof') return reqs;
    for (;;) {
      reqs.push(this.requirement());
      const tok = this.next();
      if (tok.kind === 'eof') return reqs;
      if (tok.kind !== ',') this.fail(tok, "expected ',' or the end of the selector");
    }
  }

  private requirement(): Requirement {
    const first = this.next();
    if (first.kind === '!') {
      const key = this.key(this.next());
      return { key, operator: SelectorOperator.DoesNotExist, values: [] };
    }
    const key = this.key(first);
    const op = this.peek();
    switch (op.kind) {
      case ',':
      case 'eof':
        return { key, operator: SelectorOperator.Exists, values: [] };
      case '=':
      case '==':
      case '!=':
        this.next();
        return {
          key,
          operator: op.kind === '!=' ? SelectorOperator.NotIn : SelectorOperator.In,
          values: [this.exactValue(key)],
        };
      case '<':
      case '>':
        return this.fail(op, `operator '${op.text}' is not supported for label selectors`);
      case 'ident':
        if (op.text === 'in' || op.text === 'notin') {
          this.next();
          return {
            key,
            operator: op.text === 'in' ? SelectorOperator.In : SelectorOperator.NotIn,
            values: this.valueSet(key, op.text),
          };
        }
        return this.fail(op, EXPECTED_OPERATOR);
      case '(':
      case ')':
      case '!':
        return this.fail(op, EXPECTED_OPERATOR);
    }
  }

  private key(tok: Token): string {
    if (tok.kind !== 'ident') this.fail(tok, 'expected a label key');
    const problem = validateLabelKey(tok.text);
    if (problem !== undefined) this.fail(tok, `invalid key ${quote(tok.text)}: ${problem}`);
    return tok.text;
  }

  /** The value after `=`, `==` or `!=`; empty when a comma or the end follows directly. */
  private exactValue(key: string): string {
    const tok = this.peek();
    if (tok.kind === ',' || tok.kind === 'eof') return '';
    this.next();
    if (tok.kind !== 'ident') this.fail(tok, `expected a value for key ${quote(key)}`);
    return this.value(tok, key);
  }

  /**
   * The parenthesized values after `in` / `notin`. As in Kubernetes, an empty entry (`(a,)`,
   * `(,a)`, `(a,,b)`) stands for the empty value, but `()` is an error.
   */
  private valueSet(key: string, op: string): string[] {
    const open = this.next();
    if (open.kind !== '(') this.fail(open, `expected '(' after '${op}'`);
    if (this.peek().kind === ')') {
      this.fail(this.peek(), `'${op}' needs at least one value`);
    }
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const tok = this.next();
      if (tok.kind === 'ident' && expectValue) {
        values.push(this.value(tok, key));
        expectValue = false;
      } else if (tok.kind === ',' || tok.kind === ')') {
        if (expectValue) values.push('');
        if (tok.kind === ')') return values;
        expectValue = true;
      } else if (tok.kind === 'eof') {
        this.fail(tok, `missing ')' to close the values of '${op}'`);
      } else {
        this.fail(tok, expectValue ? "expected a value, ',' or ')'" : "expected ',' or ')'");
      }
    }
  }

  private value(tok: Token, key: string): string {
    const problem = validateLabelValue(tok.text);
    if (problem !== undefined) {
      this.fail(tok, `invalid value ${quote(tok.text)} for key ${quote(key)}: ${problem}`);
    }
    return tok.text;
  }

  private peek(): Token {
    // The token list always ends with 'eof', and the parser never reads past it.
    return this.tokens[this.index] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    const tok = this.peek();
    if (tok.kind !== 'eof') this.index++;
    return tok;
  }

  private fail(tok: Token, problem: string): never {
    const found = tok.kind === 'eof' ? 'the end' : quote(tok.text);
    throw new SelectorError(
      `invalid label selector ${quote(this.source)}: ${problem} (found ${found} at column ${tok.pos + 1})`,
      tok.pos,
    );
  }
}

/**
 * Most values a selector may hold, counting each key without values (`k`, `!k`) as one: enough
 * for any real fleet (Kubernetes itself is bounded only by the request size), and it keeps the
 * SQL a selector becomes small. A larger selector is refused with a SelectorError.
 */
export const MAX_SELECTOR_VALUES = 1000;
/** Longest string selector accepted (checked before parsing). */
export const MAX_SELECTOR_LENGTH = 64 * 1024;

function tooLarge(got: string): SelectorError {
  return new SelectorError(
    `label selector is too large: at most ${MAX_SELECTOR_VALUES} values and ${MAX_SELECTOR_LENGTH} characters in all (got ${got})`,
  );
}

/** Throws unless the requirements hold at most MAX_SELECTOR_VALUES values. */
function withinCap(reqs: Requirement[]): Requirement[] {
  const count = reqs.reduce((sum, req) => sum + Math.max(1, req.values.length), 0);
  if (count > MAX_SELECTOR_VALUES) throw tooLarge(`${count} values`);
  return reqs;
}

/**
 * Parses the Kubernetes string syntax of a label selector (`kubectl -l`, `?labelSelector=`):
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined by commas (AND).
 * A blank string selects everything. Returns normalized requirements (see `Requirement`,
 * sorted by key); throws `SelectorError` naming the column of the first problem.
 */
export function parseSelector(text: string): Requirement[] {
  if (text.length > MAX_SELECTOR_LENGTH) throw tooLarge(`${text.length} characters`);
  return normalize(withinCap(new Parser(text, tokenize(text)).parse()));
}

// ---------------------------------------------------------------------------------------------
// Object form

const SELECTOR_FIELDS = ['matchLabels', 'matchExpressions'];
const REQUIREMENT_FIELDS = ['key', 'operator', 'values'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `parent.key`, or `parent["odd key"]` when the key is not a plain identifier. */
function fieldPath(parent: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * Validates and normalizes the Kubernetes object form of a label selector
 * (`{matchLabels, matchExpressions}`, e.g. a cluster group's selector or a fleet.yaml
 * `clusterSelector`). `{}` selects everything; `null` parts count as absent. Throws
 * `SelectorError` listing every problem, each naming its field, e.g.
 * `matchExpressions[1].operator: must be one of In, NotIn, Exists, DoesNotExist`.
 */
export function selectorFromObject(input: unknown): Requirement[] {
  const problems: string[] = [];
  const reqs: Requirement[] = [];
  if (!isRecord(input)) {
    throw new SelectorError(
      `invalid label selector: must be an object with matchLabels and/or matchExpressions, got ${describe(input)}`,
    );
  }
  for (const field of Object.keys(input)) {
    if (!SELECTOR_FIELDS.includes(field)) {
      problems.push(
        `${fieldPath('', field)}: unknown field (expected matchLabels or matchExpressions)`,
      );
    }
  }

  const matchLabels = input.matchLabels;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isRecord(matchLabels)) {
      problems.push(`matchLabels: must be an object, got ${describe(matchLabels)}`);
    } else {
      for (const [key, value] of Object.entries(matchLabels)) {
        const path = fieldPath('matchLabels', key);
        const keyProblem = validateLabelKey(key);
        if (keyProblem !== undefined) problems.push(`${path}: invalid key: ${keyProblem}`);
        if (typeof value !== 'string') {
          problems.push(`${path}: value must be a string, got ${describe(value)}`);
          continue;
        }
        const valueProblem = validateLabelValue(value);
        if (valueProblem !== undefined) {
          problems.push(`${path}: value ${quote(value)} ${valueProblem}`);
        }
        reqs.push({ key, operator: SelectorOperator.In, values: [value] });
      }
    }
  }

  const expressions = input.matchExpressions;
  if (expressions !== undefined && expressions !== null) {
    if (!Array.isArray(expressions)) {
      problems.push(`matchExpressions: must be an array, got ${describe(expressions)}`);
    } else {
      expressions.forEach((expr: unknown, i) => {
        const req = requirementFromObject(expr, `matchExpressions[${i}]`, problems);
        if (req !== undefined) reqs.push(req);
      });
    }
  }

  if (problems.length > 0) {
    throw new SelectorError(`invalid label selector: ${problems.join('; ')}`);
  }
  return normalize(withinCap(reqs));
}

function requirementFromObject(
  expr: unknown,
  path: string,
  problems: string[],
): Requirement | undefined {
  if (!isRecord(expr)) {
    problems.push(
      `${path}: must be an object with key, operator and values, got ${describe(expr)}`,
    );
    return undefined;
  }
  const before = problems.length;
  for (const field of Object.keys(expr)) {
    if (!REQUIREMENT_FIELDS.includes(field)) {
      problems.push(`${fieldPath(path, field)}: unknown field (expected key, operator or values)`);
    }
  }

  const { key, operator, values } = expr;
  if (typeof key !== 'string') {
    problems.push(
      `${path}.key: ${key === undefined ? 'is required' : `must be a string, got ${describe(key)}`}`,
    );
  } else {
    const keyProblem = validateLabelKey(key);
    if (keyProblem !== undefined)
      problems.push(`${path}.key: invalid key ${quote(key)}: ${keyProblem}`);
  }

  const validOperator = selectorOperators.find((op) => op === operator);
  if (operator === undefined) {
    problems.push(`${path}.operator: is required`);
  } else if (validOperator === undefined) {
    problems.push(`${path}.operator: must be one of ${selectorOperators.join(', ')}`);
  }

  const list: string[] = [];
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values)) {
      problems.push(`${path}.values: must be an array of strings, got ${describe(values)}`);
    } else {
      values.forEach((value: unknown, j) => {
        if (typeof value !== 'string') {
          problems.push(`${path}.values[${j}]: must be a string, got ${describe(value)}`);
          return;
        }
        const problem = validateLabelValue(value);
        if (problem !== undefined)
          problems.push(`${path}.values[${j}]: value ${quote(value)} ${problem}`);
        list.push(value);
      });
    }
  }
  // A `values` that is not an array has been reported above; judge its length only otherwise.
  if (values === undefined || values === null || Array.isArray(values)) {
    const count = Array.isArray(values) ? values.length : 0;
    if ((validOperator === 'In' || validOperator === 'NotIn') && count === 0) {
      problems.push(`${path}.values: must be non-empty when operator is ${validOperator}`);
    }
    if ((validOperator === 'Exists' || validOperator === 'DoesNotExist') && count > 0) {
      problems.push(`${path}.values: must be empty when operator is ${validOperator}`);
    }
  }

  if (problems.length > before || typeof key !== 'string' || validOperator === undefined) {
    return undefined;
  }
  return { key, operator: validOperator, values: list };
}

/**
 * Turns requirements into the canonical Kubernetes object form: single-valued In requirements
 * become `matchLabels` (the first per key), everything else `matchExpressions`; empty parts are
 * omitted, so no requirements give `{}`. Throws `SelectorError` for an unusable requirement
 * (invalid key or value, In/NotIn without values).
 */
export function toLabelSelector(reqs: Requirement[]): LabelSelector {
  const labels: [string, string][] = [];
  const seen = new Set<string>();
  const expressions: LabelSelectorRequirement[] = [];
  for (const req of checked(reqs)) {
    const [only] = req.values;
    if (
      req.operator === 'In' &&
      req.values.length === 1 &&
      only !== undefined &&
      !seen.has(req.key)
    ) {
      seen.add(req.key);
      labels.push([req.key, only]);
    } else if (req.operator === 'In' || req.operator === 'NotIn') {
      expressions.push({ key: req.key, operator: req.operator, values: [...req.values] });
    } else {
      expressions.push({ key: req.key, operator: req.operator });
    }
  }
  const selector: LabelSelector = {};
  // fromEntries defines own properties, so even a key like "__proto__" stays plain data.
  if (labels.length > 0) selector.matchLabels = Object.fromEntries(labels);
  if (expressions.length > 0) selector.matchExpressions = expressions;
  return selector;
}

// ---------------------------------------------------------------------------------------------
// Formatting, normalization, matching

/**
 * Formats requirements in the Kubernetes string syntax (`env=prod,region in (eu,us),!legacy`),
 * canonically ordered; `parseSelector` reads it back to the same normalized requirements. No
 * requirements give `''`. Throws `SelectorError` for an unusable requirement.
 */
export function formatSelector(reqs: Requirement[]): string {
  return checked(reqs)
    .map((req) => {
      switch (req.operator) {
        case 'Exists':
          return req.key;
        case 'DoesNotExist':
          return `!${req.key}`;
        case 'In':
        case 'NotIn':
          if (req.values.length === 1) {
            return `${req.key}${req.operator === 'In' ? '=' : '!='}${req.values[0]}`;
          }
          return `${req.key} ${req.operator === 'In' ? 'in' : 'notin'} (${req.values.join(',')})`;
      }
    })
    .join(',');
}

const OPERATOR_RANK: Record<SelectorOperator, number> = {
  In: 0,
  NotIn: 1,
  Exists: 2,
  DoesNotExist: 3,
};

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareRequirements(a: Requirement, b: Requirement): number {
  return (
    compareStrings(a.key, b.key) ||
    OPERATOR_RANK[a.operator] - OPERATOR_RANK[b.operator] ||
    compareStrings(a.values.join('\n'), b.values.join('\n'))
  );
}

/**
 * The canonical form of a requirement list: values sorted and deduplicated (none for
 * Exists/DoesNotExist), requirements sorted by key, operator and values, exact duplicates
 * removed. Matching is unchanged, as requirements are ANDed and values are sets.
 */
function normalize(reqs: Requirement[]): Requirement[] {
  const out = reqs
    .map((req) => ({
      key: req.key,
      operator: req.operator,
      values:
        req.operator === 'In' || req.operator === 'NotIn'
          ? [...new Set(req.values)].sort(compareStrings)
          : [],
    }))
    .sort(compareRequirements);
  return out.filter((req, i) => i === 0 || compareRequirements(out[i - 1]!, req) !== 0);
}

/** Normalizes requirements that are about to be shown to users, rejecting unusable ones. */
function checked(reqs: Requirement[]): Requirement[] {
  const out = normalize(reqs);
  for (const req of out) {
    const keyProblem = validateLabelKey(req.key);
    if (keyProblem !== undefined) {
      throw new SelectorError(`invalid requirement: key ${quote(req.key)}: ${keyProblem}`);
    }
    if ((req.operator === 'In' || req.operator === 'NotIn') && req.values.length === 0) {
      throw new SelectorError(
        `invalid requirement on key ${quote(req.key)}: ${req.operator} needs at least one value`,
      );
    }
    for (const value of req.values) {
      const problem = validateLabelValue(value);
      if (problem !== undefined) {
        throw new SelectorError(
          `invalid requirement on key ${quote(req.key)}: value ${quote(value)} ${problem}`,
        );
      }
    }
  }
  return out;
}

/**
 * Whether a label set satisfies every requirement, with Kubernetes semantics: In and Exists
 * need the key; NotIn (and `!=`) also match when the key is absent; DoesNotExist needs it
 * absent. An In without values matches nothing, a NotIn without values matches everything.
 */
export function matchesLabels(reqs: Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((req) => {
    const present = Object.hasOwn(labels, req.key);
    switch (req.operator) {
      case 'In':
        return present && req.values.includes(labels[req.key] ?? '');
      case 'NotIn':
        return !present || !req.values.includes(labels[req.key] ?? '');
      case 'Exists':
        return present;
      case 'DoesNotExist':
        return !present;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** A parameterized SQL fragment: `sql` refers to `params` as `$n` placeholders. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/**
 * Translates requirements into a PostgreSQL boolean expression over `column`, a jsonb column
 * holding a flat object of string labels, selecting exactly the rows `matchesLabels` accepts.
 * Placeholders are numbered from `firstParam`; keys and values travel only as parameters, while
 * `column` is pasted in as given and must be a trusted identifier. No requirements give `TRUE`.
 *
 * Equality becomes containment (`col @> $n::jsonb`, all single-valued In requirements merged
 * into one object) and presence `col ? $n::text`, so a GIN index on the column (the default
 * `jsonb_ops`; `jsonb_path_ops` serves containment only) can answer them; negations cannot use
 * an index. In a WHERE clause a NULL column behaves like `{}`.
 */
export function selectorToSql(
  reqs: Requirement[],
  column: string,
  firstParam: number,
): SqlCondition {
  if (!Number.isInteger(firstParam) || firstParam < 1) {
    throw new RangeError(`firstParam must be a positive integer, got ${firstParam}`);
  }
  const params: unknown[] = [];
  const placeholder = (value: unknown, type: string): string => {
    params.push(value);
    return `$${firstParam + params.length - 1}::${type}`;
  };
  const contains = (pairs: [string, string][]): string =>
    `${column} @> ${placeholder(JSON.stringify(Object.fromEntries(pairs)), 'jsonb')}`;
  const anyOf = (key: string, values: string[]): string => {
    const parts = values.map((value) => contains([[key, value]]));
    return parts.length === 1 ? (parts[0] ?? '') : `(${parts.join(' OR ')})`;
  };

  const equalities = new Map<string, string>();
  const rest: Requirement[] = [];
  for (const req of reqs) {
    const [only] = req.values;
    if (
      req.operator === 'In' &&
      req.values.length === 1 &&
      only !== undefined &&
      !equalities.has(req.key)
    ) {
      equalities.set(req.key, only);
    } else {
      rest.push(req);
    }
  }

  const conditions: string[] = [];
  if (equalities.size > 0) conditions.push(contains([...equalities]));
  for (const req of rest) {
    const values = [...new Set(req.values)];
    switch (req.operator) {
      case 'In':
        conditions.push(values.length === 0 ? 'FALSE' : anyOf(req.key, values));
        break;
      case 'NotIn':
        // IS NOT TRUE rather than NOT: a NULL column must count as "key absent".
        if (values.length > 0) conditions.push(`(${anyOf(req.key, values)}) IS NOT TRUE`);
        break;
      case 'Exists':
        conditions.push(`${column} ? ${placeholder(req.key, 'text')}`);
        break;
      case 'DoesNotExist':
        conditions.push(`(${column} ? ${placeholder(req.key, 'text')}) IS NOT TRUE`);
        break;
    }
  }
  if (conditions.length === 0) return { sql: 'TRUE', params };
  if (conditions.length === 1) return { sql: conditions[0] ?? 'TRUE', params };
  return { sql: `(${conditions.join(' AND ')})`, params };
}
