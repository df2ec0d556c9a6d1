import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import type {
  BundleDetailView,
  BundleListItemView,
  PageView,
  RolloutView,
} from '../../../libs/contracts/api-views.js';
import { api, seg } from '../api.js';
import { Counts, ErrorNote, Loadable, Short, StateBadge, Table } from '../components.js';

/** Bundles with their commit and deployment summary. */
export function BundlesPage() {
  const bundles = useQuery({
    queryKey: ['bundle', 'list', 'deployment'],
    queryFn: () => api<PageView<BundleListItemView>>('/bundles?limit=500'),
  });
  return (
    <>
      <h1>Bundles</h1>
      <Loadable query={bundles}>
        {() => (
          <Table columns={['bundle', 'GitRepo', 'kind', 'commit', 'ready', 'deployments']}>
            {bundles.data!.items.map((b) => (
              <tr key={b.name}>
                <td>
                  <Link to={`/bundles/${seg(b.name)}`}>{b.name}</Link>
                  {b.error && <div className="error">{b.error}</div>}
                </td>
                <td>{b.gitrepo}</td>
                <td>{b.kind}</td>
                <td>
                  <Short id={b.commit} />
                </td>
                <td>
                  {b.summary.ready}/{b.summary.desired}
                </td>
                <td>
                  <Counts byState={b.summary.byState} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Loadable>
    </>
  );
}

/** A bundle: its variants and which clusters run which, deployments, rollouts, manifests. */
export function BundlePage() {
  const { name = '' } = useParams();
  const bundle = useQuery({
    queryKey: ['bundle', name, 'deployment'],
    queryFn: () => api<BundleDetailView>(`/bundles/${seg(name)}`),
  });
  const rollouts = useQuery({
    queryKey: ['rollout', 'of', name],
    queryFn: () => api<PageView<RolloutView>>(`/rollouts?bundle=${seg(name)}&limit=10`),
  });
  const [variant, setVariant] = useState<string | null>(null);
  return (
    <>
      <h1>Bundle {name}</h1>
      <Loadable query={bundle}>
        {() => {
          const b = bundle.data!;
          return (
            <>
              <dl className="facts">
                <dt>GitRepo</dt>
                <dd>
                  <Link to="/gitrepos">{b.gitrepo}</Link> ({b.dir}, {b.kind})
                </dd>
                <dt>Commit</dt>
                <dd>
                  <Short id={b.commit} />
                </dd>
                <dt>Deployments</dt>
                <dd>
                  {b.summary.ready}/{b.summary.desired} ready <Counts byState={b.summary.byState} />
                </dd>
              </dl>
              {b.error && (
                <pre className="error" role="alert">
                  {b.error}
                </pre>
              )}
              <h2>Variants</h2>
              <Table columns={['variant', 'revision', 'clusters', 'manifests']}>
                {b.variants.map((v) => (
                  <tr key={v.key}>
                    <td>
                      <code>{v.key || '(default)'}</code>
                    </td>
                    <td>
                      <Short id={v.revision} />
                    </td>
                    <td>
                      {v.clusters.map((c) => (
                        <Link key={c} to={`/clusters/${seg(c)}`} className="chip">
                          {c}
                        </Link>
                      ))}
                    </td>
                    <td>
                      <button
                        type="button"
                        onClick={() => setVariant(variant === v.key ? null : v.key)}
                        aria-expanded={variant === v.key}
                      >
                        {variant === v.key ? 'Hide' : 'Show'} manifests
                      </button>
                    </td>
                  </tr>
                ))}
              </Table>
              {variant !== null && <Manifests bundle={name} variant={variant} />}
              <h2>Deployments</h2>
              <Table columns={['cluster', 'state', 'commit', 'applied revision', 'reason']}>
                {b.deployments.map((d) => (
                  <tr key={d.cluster}>
                    <td>
                      <Link to={`/clusters/${seg(d.cluster)}`}>{d.cluster}</Link>
                    </td>
                    <td>
                      <StateBadge state={d.state} />
                    </td>
                    <td>
                      <Short id={d.commit} />
                    </td>
                    <td>
                      <Short id={d.appliedRevision} />
                    </td>
                    <td className="reason">{d.message}</td>
                  </tr>
                ))}
              </Table>
            </>
          );
        }}
      </Loadable>
      <h2>Rollouts</h2>
      <Loadable query={rollouts}>
        {() => (
          <ul className="plain">
            {rollouts.data!.items.map((r) => (
              <li key={r.id}>
                <Link to={`/rollouts/${r.id}`}>
                  <Short id={r.fromCommit} /> → <Short id={r.toCommit} />
                </Link>{' '}
                <StateBadge state={r.state} />
              </li>
            ))}
            {rollouts.data!.items.length === 0 && <li className="muted">none</li>}
          </ul>
        )}
      </Loadable>
    </>
  );
}

function Manifests({ bundle, variant }: { bundle: string; variant: string }) {
  const manifests = useQuery({
    queryKey: ['bundle', bundle, 'manifests', variant],
    queryFn: () =>
      api<{ objects: unknown[] }>(`/bundles/${seg(bundle)}/manifests?variant=${seg(variant)}`),
  });
  if (manifests.error) return <ErrorNote error={manifests.error} />;
  if (!manifests.data) return <p className="muted">Loading…</p>;
  return (
    <pre
      className="manifests"
      aria-label={`Rendered manifests of variant ${variant || '(default)'}`}
      tabIndex={0}
    >
      {JSON.stringify(manifests.data.objects, null, 2)}
    </pre>
  );
}
