// Which remote charts a bundle may render from: its fleet.yaml `helm` and each
// targetCustomization's `helm` over it (Fleet's meaning: the customization's chart, repo and
// version replace the bundle's).
import { chartSource, type ChartFields, type RemoteChartSource } from '../bundles/chart-source.js';
import { canonicalJson } from '../bundles/revision.js';

/** The fleet.yaml fields `chartSourcesOf` reads. */
export interface ChartsOfFleet {
  helm?: ChartFields;
  targetCustomizations?: readonly { helm?: ChartFields }[];
}

/**
 * The distinct remote chart sources of a bundle (none for local charts and non-Helm bundles),
 * in a stable order. A combination `chartSource` refuses is left out: rendering reports it.
 */
export function chartSourcesOf(fleet: ChartsOfFleet): RemoteChartSource[] {
  const base = fleet.helm ?? {};
  const candidates: ChartFields[] = [base];
  for (const t of fleet.targetCustomizations ?? []) {
    if (t.helm === undefined) continue;
    candidates.push({
      chart: t.helm.chart ?? base.chart,
      repo: t.helm.repo ?? base.repo,
      version: t.helm.version ?? base.version,
    });
  }
  const out = new Map<string, RemoteChartSource>();
  for (const fields of candidates) {
    if (fields.chart === undefined && fields.repo === undefined) continue;
    try {
      const source = chartSource(fields);
      if (source.kind !== 'path') out.set(canonicalJson(source), source);
    } catch {
      // an invalid combination fails the render with its field named
    }
  }
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}
