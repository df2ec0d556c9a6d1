// A deployment's drift in one line, from the drifted fields its latest status report carried.

/** Objects a summary names before it counts the rest. */
export const SUMMARY_MAX_OBJECTS = 2;
/** Longest value (its JSON text) a summary shows, in characters. */
export const SUMMARY_MAX_VALUE_CHARS = 24;

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function shortened(value: string): string {
  return value.length > SUMMARY_MAX_VALUE_CHARS
    ? `${value.slice(0, SUMMARY_MAX_VALUE_CHARS - 3)}...`
    : value;
}

/** `spec.replicas 3→5`, or `data.k "a"→(missing)` when the live object lacks the field. */
function fieldChange(field: Record<string, unknown>): string | undefined {
  const path = text(field.path);
  const desired = text(field.desired);
  if (path === undefined || desired === undefined) return undefined;
  const live = text(field.live);
  return `${path} ${shortened(desired)}→${live === undefined ? '(missing)' : shortened(live)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What changed out of band, in one line, from a deployment's stored resources (as reported:
 * `{kind, name, state, drift: [{path, desired, live?}]}`, values as JSON text), e.g.
 * `modified: Deployment web: spec.replicas 3→5, +1 more`. Names the first field of at most
 * {@link SUMMARY_MAX_OBJECTS} Modified objects and counts the other fields and objects; an
 * object reported Modified without fields is named alone. Empty when no resource is Modified.
 */
export function driftSummary(resources: readonly unknown[]): string {
  const modified = resources.filter(isRecord).filter((r) => r.state === 'Modified');
  if (modified.length === 0) return '';
  const objects = modified.slice(0, SUMMARY_MAX_OBJECTS).map((r) => {
    const name = `${text(r.kind) ?? 'object'} ${text(r.name) ?? ''}`.trim();
    const fields = (Array.isArray(r.drift) ? r.drift : [])
      .filter(isRecord)
      .map(fieldChange)
      .filter((f): f is string => f !== undefined);
    if (fields.length === 0) return name;
    const more = fields.length > 1 ? `, +${fields.length - 1} more` : '';
    return `${name}: ${fields[0]}${more}`;
  });
  const rest = modified.length - objects.length;
  const tail = rest > 0 ? `; +${rest} more object${rest === 1 ? '' : 's'}` : '';
  return `modified: ${objects.join('; ')}${tail}`;
}
