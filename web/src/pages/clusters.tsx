import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import type {
  ClusterDetailView,
  ClusterView,
  PageView,
} from '../../../libs/contracts/api-views.js';
import { type DriftedObject, driftOf, driftedRef } from '../../../libs/contracts/drift-view.js';
import { api, seg } from '../api.js';
import {
  Ago,
  ErrorNote,
  Labels,
  Loadable,
  SelectorField,
  Short,
  StateBadge,
  Table,
  virtualRowStyle,
} from '../components.js';

/** Every cluster matching a selector, page after page. */
async function allClusters(selector: string, signal: AbortSignal): Promise<ClusterView[]> {
  const items: ClusterView[] = [];
  let token: string | undefined;
  do {
    const q = new URLSearchParams({ limit: '500' });
    if (selector) q.set('labelSelector', selector);
    if (token) q.set('continue', token);
    const page = await api<PageView<ClusterView>>(`/clusters?${q.toString()}`, { signal });
    items.push(...page.items);
    token = page.continue;
  } while (token);
  return items;
}

/** Clusters with labels, state, heartbeat and versions, filtered by a label selector. */
export function ClustersPage() {
  const [selector, setSelector] = useState('');
  const deferred = useDeferredValue(selector.trim());
  const clusters = useQuery({
    queryKey: ['cluster', 'list', deferred],
    queryFn: ({ signal }) => allClusters(deferred, signal),
    placeholderData: keepPreviousData,
  });
  const parent = useRef<HTMLDivElement>(null);
  const items = clusters.data ?? [];
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual's documented use
  const rows = useVirtualizer({
    count: items.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 34,
    overscan: 10,
  });
  const columns = 'minmax(10rem, 1.2fr) 6rem minmax(12rem, 2fr) 9rem 6rem 12rem';
  return (
    <>
      <h1>Clusters</h1>
      <div className="filters">
        <SelectorField
          value={selector}
          onChange={setSelector}
          placeholder="env=prod,region in (eu,us),!canary"
          describedBy="selector-help"
        />
        <span id="selector-help" className="muted">
          The CLI's syntax: <code>k=v</code>, <code>k!=v</code>, <code>k in (a,b)</code>,{' '}
          <code>k notin (a)</code>, <code>k</code>, <code>!k</code>
        </span>
      </div>
      {clusters.error && <ErrorNote error={clusters.error} />}
      <p className="muted" data-testid="cluster-count" aria-live="polite">
        {clusters.isPending ? 'Loading…' : `${items.length} clusters`}
      </p>
      <div role="table" aria-label="Clusters" aria-rowcount={items.length + 1} className="matrix">
        <div role="row" className="matrix-row matrix-head" style={{ gridTemplateColumns: columns }}>
          <span role="columnheader">name</span>
          <span role="columnheader">state</span>
          <span role="columnheader">labels</span>
          <span role="columnheader">last heartbeat</span>
          <span role="columnheader">agent</span>
          <span role="columnheader">Kubernetes</span>
        </div>
        <div ref={parent} className="matrix-body" tabIndex={0} aria-label="Cluster rows (scroll)">
          <div style={{ height: rows.getTotalSize(), position: 'relative' }}>
            {rows.getVirtualItems().map((v) => {
              const c = items[v.index]!;
              return (
                <div
                  role="row"
                  aria-rowindex={v.index + 2}
                  key={c.name}
                  className="matrix-row"
                  data-testid="cluster-row"
                  style={virtualRowStyle(columns, v.start)}
                >
                  <span role="cell">
                    <Link to={`/clusters/${seg(c.name)}`}>{c.name}</Link>
                  </span>
                  <span role="cell">
                    <StateBadge state={c.state} />
                  </span>
                  <span role="cell">
                    <Labels labels={c.labels} />
                  </span>
                  <span role="cell">
                    <Ago at={c.lastSeen} />
                  </span>
                  <span role="cell">{c.agentVersion ?? '—'}</span>
                  <span role="cell">{c.kubernetesVersion ?? '—'}</span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </>
  );
}

/** A drifted object's fields as a small diff: `-` the value the agent applied, `+` the live one. */
function DriftDiff({ object }: { object: DriftedObject }) {
  const ref = `${object.kind} ${object.namespace === undefined ? '' : `${object.namespace}/`}${object.name}`;
  const id = `drift-${object.bundle}-${object.apiVersion}-${ref}`.replace(/[^A-Za-z0-9_-]/g, '-');
  return (
    <figure className="drift" data-testid="drift">
      <figcaption id={id}>
        <strong>{ref}</strong>{' '}
        <span className="muted">
          ({object.bundle}, {object.apiVersion})
        </span>
      </figcaption>
      <pre aria-labelledby={id} className="diff">
        {object.fields.length === 0 && (
          <span className="muted">
            # {object.message || 'modified'} (the agent sent no field list)
          </span>
        )}
        {object.fields.map((f) => (
          <span key={f.path}>
            <del>
              - {f.path}: {f.desired}
            </del>
            <ins>
              + {f.path}: {f.live ?? '(missing)'}
            </ins>
          </span>
        ))}
      </pre>
    </figure>
  );
}

/** One cluster: its facts and every deployment on it. */
export function ClusterPage() {
  const { name = '' } = useParams();
  const cluster = useQuery({
    queryKey: ['cluster', name, 'deployment'],
    queryFn: () => api<ClusterDetailView>(`/clusters/${seg(name)}`),
  });
  return (
    <>
      <h1>Cluster {name}</h1>
      <Loadable query={cluster}>
        {() => {
          const c = cluster.data!;
          const drifted = driftOf(c.deployments);
          return (
            <>
              <dl className="facts">
                <dt>State</dt>
                <dd>
                  <StateBadge state={c.state} />
                </dd>
                <dt>Labels</dt>
                <dd>
                  <Labels labels={c.labels} />
                </dd>
                <dt>Last heartbeat</dt>
                <dd>
                  <Ago at={c.lastSeen} />
                </dd>
                <dt>Agent</dt>
                <dd>{c.agentVersion ?? '—'}</dd>
                <dt>Kubernetes</dt>
                <dd>{c.kubernetesVersion ?? '—'}</dd>
              </dl>
              <h2>Deployments</h2>
              <Table
                columns={[
                  'bundle',
                  'state',
                  'commit',
                  'desired revision',
                  'applied revision',
                  'reason',
                ]}
              >
                {c.deployments.map((d) => (
                  <tr key={d.bundle}>
                    <td>
                      <Link to={`/bundles/${seg(d.bundle)}`}>{d.bundle}</Link>
                    </td>
                    <td>
                      <StateBadge state={d.state} />
                    </td>
                    <td>
                      <Short id={d.commit} />
                    </td>
                    <td>
                      <Short id={d.desiredRevision} />
                    </td>
                    <td>
                      <Short id={d.appliedRevision} />
                    </td>
                    <td className="reason">{d.message}</td>
                  </tr>
                ))}
                {c.deployments.length === 0 && (
                  <tr>
                    <td colSpan={6} className="muted">
                      no deployments
                    </td>
                  </tr>
                )}
              </Table>
              {drifted.length > 0 && (
                <section aria-labelledby="drift-heading">
                  <h2 id="drift-heading">Drift</h2>
                  <p className="muted">
                    Fields changed out of band: <code>-</code> the value the agent applied,{' '}
                    <code>+</code> the live one.
                  </p>
                  {drifted.map((o) => (
                    <DriftDiff key={`${o.bundle} ${driftedRef(o)}`} object={o} />
                  ))}
                </section>
              )}
            </>
          );
        }}
      </Loadable>
    </>
  );
}
