/** Label arguments as given on the command line: keys to set and keys to remove. */
export interface LabelChanges {
  /** `key=value` arguments, in order. */
  set: Record<string, string>;
  /** `key-` arguments, in order. */
  remove: string[];
}

/** The outcome of {@link applyLabelChanges}. */
export interface LabelUpdate {
  /** The complete new label set (PATCH replaces labels wholesale). */
  labels: Record<string, string>;
  /** Whether `labels` differs from the current labels. */
  changed: boolean;
  /** Non-fatal remarks, e.g. removing a label that is not there. */
  warnings: string[];
}

/**
 * Parses `key=value` (set) and `key-` (remove) arguments. With `allowRemove: false` (e.g.
 * for `cluster register --label`) only `key=value` is accepted. The split is at the first
 * `=`; an empty value is allowed. Throws for malformed arguments, an empty key, or a key
 * given twice. Whether keys and values are valid Kubernetes labels is left to the hub.
 */
export function parseLabelArgs(
  args: readonly string[],
  { allowRemove = true }: { allowRemove?: boolean } = {},
): LabelChanges {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  const seen = new Set<string>();
  const claim = (key: string, arg: string): void => {
    if (key.trim() === '') throw new Error(`"${arg}" has an empty label key`);
    if (/\s/.test(key)) throw new Error(`"${arg}": a label key cannot contain spaces`);
    if (seen.has(key)) throw new Error(`label "${key}" is given more than once`);
    seen.add(key);
  };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      const key = arg.slice(0, eq);
      claim(key, arg);
      set[key] = arg.slice(eq + 1);
    } else if (arg.endsWith('-') && arg.length > 1) {
      if (!allowRemove)
        throw new Error(`"${arg}" is not key=value (removing labels is not possible here)`);
      const key = arg.slice(0, -1);
      claim(key, arg);
      remove.push(key);
    } else {
      throw new Error(`"${arg}" is not key=value`);
    }
  }
  return { set, remove };
}

/**
 * Applies parsed label changes to a cluster's current labels, like `kubectl label`: changing
 * the value of an existing key needs `overwrite`, otherwise it throws naming the key; setting
 * a key to the value it already has is fine; removing an absent key only warns.
 */
export function applyLabelChanges(
  current: Readonly<Record<string, string>>,
  changes: LabelChanges,
  { overwrite = false }: { overwrite?: boolean } = {},
): LabelUpdate {
  const labels: Record<string, string> = { ...current };
  const warnings: string[] = [];
  let changed = false;
  for (const [key, value] of Object.entries(changes.set)) {
    const existing = Object.hasOwn(current, key) ? current[key] : undefined;
    if (existing === value) continue;
    if (existing !== undefined && !overwrite) {
      throw new Error(`label "${key}" already has a value (${existing}), and --overwrite is false`);
    }
    labels[key] = value;
    changed = true;
  }
  for (const key of changes.remove) {
    if (!Object.hasOwn(labels, key)) {
      warnings.push(`label "${key}" not found`);
      continue;
    }
    delete labels[key];
    changed = true;
  }
  return { labels, changed, warnings };
}
