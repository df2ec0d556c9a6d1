import type { FleetMatrixView, MatrixRowView } from '../contracts/api-views.js';

/** A cluster as the matrix needs it. */
export interface MatrixCluster {
  name: string;
  labels: Record<string, string>;
}

/** One deployment as the matrix needs it: where, what, and its (effective) state. */
export interface MatrixDeployment {
  cluster: string;
  bundle: string;
  state: string;
}

/** Row key of clusters that lack the `groupBy` label. */
export const NO_LABEL_VALUE = '(none)';

/**
 * The clusters × bundles matrix: deployments counted by state per row and bundle. Rows are the
 * clusters themselves, or with `groupBy` one row per value of that label, so 10,000 clusters
 * grouped by region are a handful of rows. Clusters are those given (already selected); a
 * `search` keeps clusters whose name, or a label value, contains it (case-insensitive). Rows and
 * bundles are sorted by name; deployments on clusters not given are left out.
 */
export function fleetMatrix(
  clusters: readonly MatrixCluster[],
  deployments: readonly MatrixDeployment[],
  options: { groupBy?: string; search?: string } = {},
): FleetMatrixView {
  const groupBy = options.groupBy?.trim() || null;
  const needle = options.search?.trim().toLowerCase() ?? '';
  const kept = needle
    ? clusters.filter(
        (c) =>
          c.name.toLowerCase().includes(needle) ||
          Object.values(c.labels).some((v) => v.toLowerCase().includes(needle)),
      )
    : clusters;
  const rowOf = new Map<string, string>();
  const rows = new Map<string, { clusters: number; cells: Map<string, Record<string, number>> }>();
  for (const c of kept) {
    const key = groupBy === null ? c.name : (c.labels[groupBy] ?? NO_LABEL_VALUE);
    rowOf.set(c.name, key);
    const row = rows.get(key) ?? { clusters: 0, cells: new Map() };
    row.clusters += 1;
    rows.set(key, row);
  }
  const bundles = new Set<string>();
  for (const d of deployments) {
    const key = rowOf.get(d.cluster);
    if (key === undefined) continue;
    bundles.add(d.bundle);
    const cells = rows.get(key)!.cells;
    const cell = cells.get(d.bundle) ?? {};
    cell[d.state] = (cell[d.state] ?? 0) + 1;
    cells.set(d.bundle, cell);
  }
  const bundleList = [...bundles].sort();
  const rowList: MatrixRowView[] = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, row]) => ({
      key,
      clusters: row.clusters,
      cells: bundleList.map((b) => row.cells.get(b) ?? {}),
    }));
  return { groupBy, bundles: bundleList, clusters: kept.length, rows: rowList };
}
