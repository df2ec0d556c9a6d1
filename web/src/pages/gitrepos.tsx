import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { GitRepoView, PageView } from '../../../libs/contracts/api-views.js';
import { api, seg } from '../api.js';
import { Ago, Counts, Loadable, Short } from '../components.js';

/** GitRepos: where they point, their commit, last sync, errors in full, and their bundles. */
export function GitReposPage() {
  const repos = useQuery({
    queryKey: ['gitrepo', 'list', 'bundle', 'deployment'],
    queryFn: () => api<PageView<GitRepoView>>('/gitrepos?limit=500'),
  });
  return (
    <>
      <h1>GitRepos</h1>
      <Loadable query={repos}>
        {() => (
          <div className="stack">
            {repos.data!.items.length === 0 && <p className="muted">No GitRepo registered.</p>}
            {repos.data!.items.map((r) => (
              <section key={r.name} className="card" aria-labelledby={`repo-${r.name}`}>
                <h2 id={`repo-${r.name}`}>{r.name}</h2>
                <dl className="facts">
                  <dt>URL</dt>
                  <dd>
                    <code>{r.url}</code> {r.branch && <>branch {r.branch}</>}{' '}
                    {r.revision && <>revision {r.revision}</>}
                  </dd>
                  <dt>Paths</dt>
                  <dd>{r.paths.length ? r.paths.join(', ') : '(root)'}</dd>
                  <dt>Commit</dt>
                  <dd>
                    <Short id={r.status.commit} />
                  </dd>
                  <dt>Last sync</dt>
                  <dd>
                    <Ago at={r.status.lastSyncedAt} /> (polling {r.pollingInterval})
                  </dd>
                  <dt>Deployments</dt>
                  <dd>
                    {r.status.summary.ready}/{r.status.summary.desired} ready{' '}
                    <Counts byState={r.status.summary.byState} />
                  </dd>
                  <dt>Bundles</dt>
                  <dd>
                    {r.status.bundles.map((b) => (
                      <Link key={b} to={`/bundles/${seg(b)}`} className="chip">
                        {b}
                      </Link>
                    ))}
                  </dd>
                </dl>
                {r.status.error && (
                  <pre className="error" role="alert">
                    {r.status.error}
                  </pre>
                )}
                {r.status.bundleErrors.map((e) => (
                  <pre key={e.bundle} className="error">
                    {e.bundle} at {e.commit?.slice(0, 8) ?? '—'}: {e.message}
                  </pre>
                ))}
                {r.status.warnings.map((w) => (
                  <p key={w.reason} className="warn">
                    {w.reason}: {w.message}
                  </p>
                ))}
              </section>
            ))}
          </div>
        )}
      </Loadable>
    </>
  );
}
