import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useRef, useState } from 'react';
import { Link } from 'react-router';
import type {
  FleetMatrixView,
  FleetStatusView,
  GitRepoView,
  PageView,
  RolloutView,
} from '../../../libs/contracts/api-views.js';
import { api, seg } from '../api.js';
import {
  Ago,
  Counts,
  ErrorNote,
  Loadable,
  SelectorField,
  Short,
  stateTone,
  virtualRowStyle,
} from '../components.js';

const ACTIVE_ROLLOUT_STATES = ['Pending', 'Progressing', 'Paused'];

/** The fleet at a glance: clusters, deployments, GitRepos, rollouts, and the matrix. */
export function OverviewPage() {
  const status = useQuery({
    queryKey: ['overview', 'status', 'cluster', 'deployment'],
    queryFn: () => api<FleetStatusView>('/status?limit=20'),
  });
  const repos = useQuery({
    queryKey: ['gitrepo', 'list'],
    queryFn: () => api<PageView<GitRepoView>>('/gitrepos?limit=100'),
  });
  const rollouts = useQuery({
    queryKey: ['rollout', 'list'],
    queryFn: () => api<PageView<RolloutView>>('/rollouts?limit=50'),
  });
  return (
    <>
      <h1>Fleet overview</h1>
      <div className="cards">
        <section className="card" aria-labelledby="clusters-h">
          <h2 id="clusters-h">Clusters</h2>
          <Loadable query={status}>
            {() => {
              const c = status.data!.clusters;
              return (
                <p className="big" data-testid="cluster-counts">
                  <span>{c.total} total</span>{' '}
                  <Counts byState={{ Online: c.online, Offline: c.offline, Pending: c.pending }} />
                </p>
              );
            }}
          </Loadable>
        </section>
        <section className="card" aria-labelledby="deployments-h">
          <h2 id="deployments-h">Deployments</h2>
          <Loadable query={status}>
            {() => (
              <>
                <p className="big">
                  <span>{status.data!.deployments.total} total</span>{' '}
                  <Counts byState={status.data!.deployments.byState} />
                </p>
                {status.data!.computedAt ? (
                  // The hub counts at most once a second: say how fresh the counts are.
                  <p className="muted" data-testid="counted-at" title={status.data!.computedAt}>
                    counted at {new Date(status.data!.computedAt).toLocaleTimeString()}
                  </p>
                ) : null}
              </>
            )}
          </Loadable>
        </section>
        <section className="card" aria-labelledby="repos-h">
          <h2 id="repos-h">GitRepos</h2>
          <Loadable query={repos}>
            {() => (
              <ul className="plain">
                {repos.data!.items.map((r) => (
                  <li key={r.name}>
                    <Link to="/gitrepos">{r.name}</Link> <Short id={r.status.commit} />{' '}
                    <Ago at={r.status.lastSyncedAt} />
                    {r.status.error && <span className="error"> {r.status.error}</span>}
                    {r.status.bundleErrors.length > 0 && (
                      <span className="error"> {r.status.bundleErrors.length} bundle error(s)</span>
                    )}
                  </li>
                ))}
                {repos.data!.items.length === 0 && <li className="muted">none registered</li>}
              </ul>
            )}
          </Loadable>
        </section>
        <section className="card" aria-labelledby="rollouts-h">
          <h2 id="rollouts-h">Rollouts in progress</h2>
          <Loadable query={rollouts}>
            {() => {
              const active = rollouts.data!.items.filter((r) =>
                ACTIVE_ROLLOUT_STATES.includes(r.state),
              );
              if (active.length === 0) return <p className="muted">none</p>;
              return (
                <ul className="plain">
                  {active.map((r) => {
                    const stage = r.stages.find((s) => s.state !== 'Succeeded') ?? r.stages.at(-1);
                    return (
                      <li key={r.id}>
                        <Link to={`/rollouts/${r.id}`}>{r.bundle}</Link>{' '}
                        <span className={`badge tone-${stateTone(r.state)}`}>{r.state}</span>{' '}
                        {stage && <span className="muted">stage {stage.name}</span>}
                      </li>
                    );
                  })}
                </ul>
              );
            }}
          </Loadable>
        </section>
      </div>
      <FleetMatrix />
    </>
  );
}

/** Cells of a row: the worst state present and the counts. */
function worst(cell: Record<string, number>): string | null {
  const order = [
    'ErrApplied',
    'Offline',
    'WaitApplied',
    'Modified',
    'OutOfSync',
    'Pending',
    'NotReady',
    'Ready',
  ];
  for (const s of order) if ((cell[s] ?? 0) > 0) return s;
  const any = Object.keys(cell)[0];
  return any ?? null;
}

/** The clusters × bundles matrix: filtered by selector, searchable, grouped, virtualised. */
function FleetMatrix() {
  const [selector, setSelector] = useState('');
  const [search, setSearch] = useState('');
  const [groupBy, setGroupBy] = useState('');
  const params = new URLSearchParams();
  const deferred = useDeferredValue({ selector, search, groupBy });
  if (deferred.selector) params.set('labelSelector', deferred.selector);
  if (deferred.search) params.set('search', deferred.search);
  if (deferred.groupBy) params.set('groupBy', deferred.groupBy);
  const matrix = useQuery({
    queryKey: ['overview', 'matrix', params.toString()],
    queryFn: ({ signal }) => api<FleetMatrixView>(`/fleet/matrix?${params.toString()}`, { signal }),
    placeholderData: keepPreviousData,
  });
  return (
    <section aria-labelledby="matrix-h" className="matrix-section">
      <h2 id="matrix-h">Clusters × bundles</h2>
      <div className="filters">
        <SelectorField
          value={selector}
          onChange={setSelector}
          placeholder="env=prod,region in (eu,us)"
        />
        <label>
          Search
          <input
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="name or label value"
          />
        </label>
        <label>
          Group by label
          <input
            value={groupBy}
            onChange={(e) => setGroupBy(e.target.value)}
            placeholder="e.g. region"
            spellCheck={false}
          />
        </label>
      </div>
      {matrix.error && <ErrorNote error={matrix.error} />}
      {matrix.data && <MatrixTable data={matrix.data} />}
    </section>
  );
}

function MatrixTable({ data }: { data: FleetMatrixView }) {
  const parent = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual's documented use
  const rows = useVirtualizer({
    count: data.rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 34,
    overscan: 10,
  });
  const columns = `minmax(10rem, 16rem) 5rem repeat(${data.bundles.length}, minmax(7rem, 1fr))`;
  return (
    <>
      <p className="muted" data-testid="matrix-summary" aria-live="polite">
        {data.clusters} clusters, {data.rows.length} rows, {data.bundles.length} bundles
      </p>
      <div
        role="table"
        aria-label="Deployments per cluster and bundle"
        aria-rowcount={data.rows.length + 1}
        className="matrix"
      >
        <div role="row" className="matrix-row matrix-head" style={{ gridTemplateColumns: columns }}>
          <span role="columnheader">{data.groupBy ? `${data.groupBy}` : 'cluster'}</span>
          <span role="columnheader">clusters</span>
          {data.bundles.map((b) => (
            <span role="columnheader" key={b}>
              <Link to={`/bundles/${seg(b)}`}>{b}</Link>
            </span>
          ))}
        </div>
        <div ref={parent} className="matrix-body" tabIndex={0} aria-label="Matrix rows (scroll)">
          <div style={{ height: rows.getTotalSize(), position: 'relative' }}>
            {rows.getVirtualItems().map((v) => {
              const row = data.rows[v.index]!;
              return (
                <div
                  role="row"
                  aria-rowindex={v.index + 2}
                  key={row.key}
                  className="matrix-row"
                  style={virtualRowStyle(columns, v.start)}
                >
                  <span role="rowheader">
                    {data.groupBy ? (
                      row.key
                    ) : (
                      <Link to={`/clusters/${seg(row.key)}`}>{row.key}</Link>
                    )}
                  </span>
                  <span role="cell">{row.clusters}</span>
                  {row.cells.map((cell, i) => {
                    const w = worst(cell);
                    const text = Object.entries(cell)
                      .map(([s, n]) => (data.groupBy ? `${s} ${n}` : s))
                      .join(', ');
                    return (
                      <span
                        role="cell"
                        key={data.bundles[i]}
                        className={w ? `cell tone-${stateTone(w)}` : 'cell muted'}
                        title={text}
                      >
                        {text || '—'}
                      </span>
                    );
                  })}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </>
  );
}
