// Kubernetes naming rules for cluster names and labels, as the API server applies them
// (k8s.io/apimachinery/pkg/util/validation). Each validator returns an error message or
// `undefined` when the input is valid.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Longest DNS-1123 label: cluster names, label key names and label values. */
export const MAX_LABEL_LENGTH = 63;
/** Longest DNS-1123 subdomain: the optional prefix of a label key. */
export const MAX_SUBDOMAIN_LENGTH = 253;

const QUALIFIED_NAME_RULE =
  "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/**
 * Checks a cluster name: a DNS-1123 label (lower case alphanumerics and '-', at most 63
 * characters, starting and ending with an alphanumeric), so it can serve as a NATS subject token
 * and a Kubernetes object name.
 */
export function validateClusterName(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_LABEL_LENGTH) {
    return `must be no more than ${MAX_LABEL_LENGTH} characters (got ${name.length})`;
  }
  if (!DNS1123_LABEL.test(name)) {
    return "must be a lowercase RFC 1123 label: lower case alphanumeric characters or '-', starting and ending with an alphanumeric character";
  }
  return undefined;
}

/**
 * Checks a label key: an optional DNS-1123 subdomain prefix (at most 253 characters) and `/`,
 * then a name of 1–63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric.
 */
export function validateLabelKey(key: string): string | undefined {
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = key;
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > MAX_SUBDOMAIN_LENGTH) {
      return `prefix part must be no more than ${MAX_SUBDOMAIN_LENGTH} characters (got ${prefix.length})`;
    }
    if (!DNS1123_SUBDOMAIN.test(prefix)) {
      return "prefix part must be a lowercase RFC 1123 subdomain: lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character";
    }
  } else {
    return "must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'), with at most one '/'";
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > MAX_LABEL_LENGTH) {
    return `name part must be no more than ${MAX_LABEL_LENGTH} characters (got ${name.length})`;
  }
  if (!QUALIFIED_NAME.test(name)) return `name part must ${QUALIFIED_NAME_RULE}`;
  return undefined;
}

/**
 * Checks a label value: empty, or at most 63 alphanumerics, '-', '_' or '.', starting and
 * ending with an alphanumeric.
 */
export function validateLabelValue(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > MAX_LABEL_LENGTH) {
    return `must be no more than ${MAX_LABEL_LENGTH} characters (got ${value.length})`;
  }
  if (!QUALIFIED_NAME.test(value)) {
    return `must be empty or ${QUALIFIED_NAME_RULE}`;
  }
  return undefined;
}

/**
 * Checks a whole label set as it arrives from a user (request body, fleet.yaml): it must be an
 * object of string values with valid keys and values. Returns every problem found, each naming
 * the offending key; an empty array means the labels are valid.
 */
export function validateLabels(labels: unknown): string[] {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    return [
      `labels must be an object mapping label keys to string values, got ${describe(labels)}`,
    ];
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = validateLabelKey(key);
    if (keyProblem !== undefined) problems.push(`label key ${quote(key)}: ${keyProblem}`);
    if (typeof value !== 'string') {
      problems.push(`label ${quote(key)}: value must be a string, got ${describe(value)}`);
      continue;
    }
    const valueProblem = validateLabelValue(value);
    if (valueProblem !== undefined) {
      problems.push(`label ${quote(key)}: value ${quote(value)} ${valueProblem}`);
    }
  }
  return problems;
}

/** Quotes user input for an error message, shortening very long strings. */
export function quote(text: string): string {
  const limit = 80;
  return JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
}

/** Names the JSON type of a value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * The labels of a cluster that registers itself with a registration token: the token's labels
 * are a ceiling the agent cannot lift, so the agent may add labels of other keys (and repeat a
 * token label with the same value) but never give one of the token's keys another value.
 * Returns the merged labels, or the token keys the agent tried to override.
 */
export function mergeRegistrationLabels(
  tokenLabels: Readonly<Record<string, string>>,
  requested: Readonly<Record<string, string>>,
): { labels: Record<string, string>; overridden: string[] } {
  const overridden = Object.keys(requested)
    .filter((key) => Object.hasOwn(tokenLabels, key) && tokenLabels[key] !== requested[key])
    .sort();
  return { labels: { ...requested, ...tokenLabels }, overridden };
}
