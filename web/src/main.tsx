import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { NavLink, Outlet, RouterProvider, createBrowserRouter } from 'react-router';
import type { WhoamiView } from '../../libs/contracts/api-views.js';
import { ApiError, tokenStore, whoami } from './api.js';
import { useLiveUpdates } from './live.js';
import { BundlePage, BundlesPage } from './pages/bundles.js';
import { ClusterPage, ClustersPage } from './pages/clusters.js';
import { GitReposPage } from './pages/gitrepos.js';
import { OverviewPage } from './pages/overview.js';
import { RolloutPage, RolloutsPage } from './pages/rollouts.js';
import { SessionContext, useSession } from './session.js';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 5_000, retry: 1, refetchOnWindowFocus: false } },
});

/** The frame of every page: navigation, who is signed in, the live connection. */
function Layout() {
  const { whoami: me, signOut } = useSession();
  const live = useLiveUpdates();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Flotilla</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/clusters">Clusters</NavLink>
          <NavLink to="/gitrepos">GitRepos</NavLink>
          <NavLink to="/bundles">Bundles</NavLink>
          <NavLink to="/rollouts">Rollouts</NavLink>
        </nav>
        <span className={`live live-${live}`} role="status" aria-live="polite" data-testid="live">
          {live === 'live'
            ? 'Live'
            : live === 'lost'
              ? 'Connection lost — reconnecting…'
              : 'Connecting…'}
        </span>
        <span className="who">
          {me.authEnabled ? `${me.name ?? ''} (${me.role ?? ''})` : 'authentication off'}
        </span>
        {me.authEnabled && (
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

/** Sign-in with an API token; the token stays in this tab's session storage. */
function SignIn({ onSignedIn }: { onSignedIn: (w: WhoamiView, token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const w = await whoami(token.trim());
      onSignedIn(w, token.trim());
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That token is not valid (unknown, expired or revoked).'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Flotilla</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="signin-help">
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <p id="signin-help" className="muted">
          An API token of this hub (the demo prints one). It is kept in this tab only.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

const router = createBrowserRouter([
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <OverviewPage /> },
      { path: 'clusters', element: <ClustersPage /> },
      { path: 'clusters/:name', element: <ClusterPage /> },
      { path: 'gitrepos', element: <GitReposPage /> },
      { path: 'bundles', element: <BundlesPage /> },
      { path: 'bundles/:name', element: <BundlePage /> },
      { path: 'rollouts', element: <RolloutsPage /> },
      { path: 'rollouts/:id', element: <RolloutPage /> },
      { path: '*', element: <p>No such page.</p> },
    ],
  },
]);

/** Signs in (or finds the hub runs without authentication), then shows the dashboard. */
function App() {
  const [me, setMe] = useState<WhoamiView | null | undefined>(undefined);
  useEffect(() => {
    // A token kept from earlier in this tab, or none: the hub may run without authentication.
    whoami(tokenStore.get()).then(setMe, () => {
      tokenStore.clear();
      setMe(null);
    });
  }, []);
  if (me === undefined) return <p role="status">Loading…</p>;
  if (me === null)
    return (
      <SignIn
        onSignedIn={(w, token) => {
          tokenStore.set(token);
          queryClient.clear();
          setMe(w);
        }}
      />
    );
  const signOut = () => {
    tokenStore.clear();
    queryClient.clear();
    setMe(null);
  };
  return (
    <SessionContext.Provider value={{ whoami: me, signOut }}>
      <RouterProvider router={router} />
    </SessionContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
