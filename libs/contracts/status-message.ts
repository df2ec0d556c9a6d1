import {
  MAX_REPORTS_PER_MESSAGE,
  type StatusMessage,
  StatusMessageSchema,
  reportedStates,
} from './delivery.js';

const REPORT_STATES = new Set<unknown>([...reportedStates, 'Removed']);
const RESOURCE_STATES = new Set<unknown>(['Ready', 'NotReady', 'Failed', 'Modified', 'Missing']);
const BATCH_KEYS = new Set(['cluster', 'reports']);
const REPORT_KEYS = new Set([
  'cluster',
  'bundle',
  'revision',
  'state',
  'message',
  'resources',
  'observedAt',
]);
const RESOURCE_KEYS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'name',
  'state',
  'message',
  'drift',
]);
const DRIFT_KEYS = new Set(['path', 'desired', 'live']);

type Fields = Record<string, unknown>;

/** A plain object (as JSON.parse makes them) whose keys are all in `keys`. */
function isObjectWithin(value: unknown, keys: ReadonlySet<string>): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const k in value) if (!keys.has(k)) return false;
  return true;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isOptionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

function isDrift(value: unknown): boolean {
  return (
    isObjectWithin(value, DRIFT_KEYS) &&
    isString(value.path) &&
    isString(value.desired) &&
    isOptionalString(value.live)
  );
}

/** A resource exactly as the schema reads it; its missing message is set to ''. */
function checkResource(value: unknown): boolean {
  if (
    !isObjectWithin(value, RESOURCE_KEYS) ||
    !isString(value.apiVersion) ||
    !isString(value.kind) ||
    !isOptionalString(value.namespace) ||
    !isString(value.name) ||
    !RESOURCE_STATES.has(value.state) ||
    !isOptionalString(value.message)
  ) {
    return false;
  }
  if (value.drift !== undefined && !(Array.isArray(value.drift) && value.drift.every(isDrift))) {
    return false;
  }
  value.message ??= '';
  return true;
}

/** A report exactly as the schema reads it; its missing message and resources are filled in. */
function checkReport(value: unknown): boolean {
  if (
    !isObjectWithin(value, REPORT_KEYS) ||
    !isString(value.cluster) ||
    !isString(value.bundle) ||
    !(value.revision === null || isString(value.revision)) ||
    !REPORT_STATES.has(value.state) ||
    !isOptionalString(value.message) ||
    !isString(value.observedAt)
  ) {
    return false;
  }
  if (value.resources !== undefined) {
    if (!Array.isArray(value.resources)) return false;
    for (const r of value.resources as unknown[]) if (!checkResource(r)) return false;
  }
  value.message ??= '';
  value.resources ??= [];
  return true;
}

/**
 * Reads a status message (a parsed JSON payload) as {@link StatusMessageSchema} does, undefined
 * when it is not one. A StatusBatch holding exactly the schema's fields (what agents send) is
 * checked in place and returned itself, with the schema's defaults filled in, rather than
 * copied field by field: the hub reads tens of thousands of reports a second. Anything else
 * (a bare report, unknown fields, a wrong type) is left to the schema, which decides. The
 * checks mutate `value` only to fill in defaults, and only on the way to a result equal to
 * the schema's; on a mismatch part-way, the filled defaults are what the schema would add.
 */
export function parseStatusMessage(value: unknown): StatusMessage | undefined {
  if (
    isObjectWithin(value, BATCH_KEYS) &&
    isString(value.cluster) &&
    Array.isArray(value.reports) &&
    value.reports.length >= 1 &&
    value.reports.length <= MAX_REPORTS_PER_MESSAGE &&
    (value.reports as unknown[]).every(checkReport)
  ) {
    return value as StatusMessage;
  }
  const parsed = StatusMessageSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
