/**
 * The drift a cluster's agents reported (`resources[].drift` of `GET /api/v1/clusters/{name}`),
 * picked out of a cluster's deployments and printed as a YAML diff. Pure and import-free, so the
 * CLI (`flotilla cluster drift`) and the web dashboard share it.
 */

/** One drifted field: the value the agent applied and the live one (JSON text; absent: removed). */
export interface DriftFieldView {
  path: string;
  desired: string;
  live?: string;
}

/** A drifted object of one deployment, with the fields its agent reported. */
export interface DriftedObject {
  bundle: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  message: string;
  fields: DriftFieldView[];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The `Modified` objects of a cluster's deployments (of `bundle` only, when given). */
export function driftOf(
  deployments: readonly { bundle: string; resources?: unknown }[],
  bundle?: string,
): DriftedObject[] {
  const out: DriftedObject[] = [];
  for (const d of deployments) {
    if (bundle !== undefined && d.bundle !== bundle) continue;
    const resources = Array.isArray(d.resources) ? (d.resources as Record<string, unknown>[]) : [];
    for (const r of resources) {
      if (r.state !== 'Modified') continue;
      const fields = Array.isArray(r.drift) ? (r.drift as DriftFieldView[]) : [];
      out.push({
        bundle: d.bundle,
        apiVersion: text(r.apiVersion),
        kind: text(r.kind),
        ...(typeof r.namespace === 'string' ? { namespace: r.namespace } : {}),
        name: text(r.name),
        message: typeof r.message === 'string' ? r.message : '',
        fields,
      });
    }
  }
  return out;
}

/** `apiVersion Kind namespace/name` of a drifted object. */
export function driftedRef(o: DriftedObject): string {
  return `${o.apiVersion} ${o.kind} ${o.namespace === undefined ? '' : `${o.namespace}/`}${o.name}`;
}

/** Drifted objects as a YAML diff: `-` what the agent applied, `+` what runs. */
export function formatDrift(cluster: string, drifted: DriftedObject[], bundle?: string): string {
  if (drifted.length === 0) {
    return `No drift on cluster ${cluster}${bundle === undefined ? '' : ` for ${bundle}`}.\n`;
  }
  const lines: string[] = [];
  for (const o of drifted) {
    const ref = driftedRef(o);
    lines.push(`--- ${o.bundle}: ${ref} (applied)`, `+++ ${o.bundle}: ${ref} (live)`);
    if (o.fields.length === 0)
      lines.push(`# ${o.message || 'modified'} (the agent sent no field list)`);
    for (const f of o.fields) {
      lines.push(`${f.path}:`, `-  ${f.desired}`, `+  ${f.live ?? '(missing)'}`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
