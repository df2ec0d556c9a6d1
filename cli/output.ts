import { createRequire } from 'node:module';
import Table from 'cli-table3';

/**
 * `value` as YAML. The `yaml` package is loaded on first use only: it is one of the costliest
 * imports of the CLI, and most commands never print YAML.
 */
export function toYaml(value: unknown): string {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.stringify(value);
}

/**
 * The output formats every command accepts with `-o`: `wide` is the table with more columns
 * (where a command has them), `name` prints one `kind/name` per line, kubectl style.
 */
export const outputFormats = ['table', 'wide', 'name', 'json', 'yaml'] as const;
/** One of {@link outputFormats}. */
export type OutputFormat = (typeof outputFormats)[number];

/** A table cell; `null`/`undefined` print as empty. */
export type Cell = string | number | boolean | null | undefined;

/** What `-o table` prints: column titles (upper-cased when printed) and rows of cells. */
export interface TableSpec {
  columns: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** Printed instead of an empty table (e.g. `No clusters found.`); default: headers only. */
  empty?: string;
  /** The table `-o wide` prints; default: this one. */
  wide?: TableSpec;
  /** The resource kind `-o name` prefixes each name with (`cluster/eu-1`); default: no prefix. */
  kind?: string;
  /** What `-o name` prints, one per line; default: each row's first cell. */
  names?: readonly string[];
}

/** Whether `format` is one of the tables meant for people (`table`, `wide`). */
export function isHumanOutput(format: OutputFormat): boolean {
  return format === 'table' || format === 'wide';
}

/** The lines `-o name` prints for `spec`: `kind/name`, one per row. */
export function formatNames(spec: TableSpec): string {
  const names = spec.names ?? spec.rows.map((row) => cellText(row[0]));
  return (
    names.map((n) => (spec.kind ? `${spec.kind}/${n}` : n)).join('\n') + (names.length ? '\n' : '')
  );
}

/** Where output goes; `process.stdout` and test buffers both fit. */
export interface Writer {
  write(chunk: string): unknown;
}

/**
 * Renders a table like kubectl does: no borders, upper-case headers, columns separated by
 * three spaces, no trailing blanks. Ends with a newline.
 */
export function formatTable(spec: TableSpec): string {
  if (spec.rows.length === 0 && spec.empty !== undefined) return `${spec.empty}\n`;
  const table = new Table({
    head: spec.columns.map((c) => c.toUpperCase()),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    wordWrap: false,
  });
  for (const row of spec.rows) {
    table.push(spec.columns.map((_, i) => cellText(row[i])));
  }
  const lines = table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  return `${lines.join('\n')}\n`;
}

/** The text of `value` in the given format: 2-space JSON, YAML, or the table of `table`. */
export function formatResult(format: OutputFormat, value: unknown, table: TableSpec): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(value, null, 2)}\n`;
    case 'yaml':
      return toYaml(value);
    case 'table':
      return formatTable(table);
    case 'wide':
      return formatTable(table.wide ?? table);
    case 'name':
      return formatNames(table);
  }
}

/** Writes `value` in the given format to `out` (default stdout); see {@link formatResult}. */
export function printResult(
  format: OutputFormat,
  value: unknown,
  table: TableSpec,
  out: Writer = process.stdout,
): void {
  out.write(formatResult(format, value, table));
}

/** `k=v,k2=v2` with keys sorted, or `<none>` for no labels. */
export function formatLabels(labels: Readonly<Record<string, string>> | null | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '<none>';
  return entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * How long ago `timestamp` was, kubectl style: `3s ago`, `5m ago`, `2h ago`, `4d ago`;
 * `never` for null, `just now` for less than a second (or a clock slightly ahead), and the
 * input itself when it is not a date.
 */
export function formatAge(timestamp: string | null | undefined, now: number = Date.now()): string {
  if (timestamp === null || timestamp === undefined || timestamp === '') return 'never';
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return timestamp;
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  return String(cell);
}
