import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import type {
  BundleDetailView,
  PageView,
  RolloutDetailView,
  RolloutStageView,
  RolloutView,
} from '../../../libs/contracts/api-views.js';
import { api, seg } from '../api.js';
import { Ago, ErrorNote, Loadable, Short, StateBadge, Table, useNow } from '../components.js';
import { canOperate, useSession } from '../session.js';

const TERMINAL = ['Succeeded', 'Failed', 'Aborted', 'RolledBack', 'Superseded'];

/** Every rollout, newest first. */
export function RolloutsPage() {
  const rollouts = useQuery({
    queryKey: ['rollout', 'list'],
    queryFn: () => api<PageView<RolloutView>>('/rollouts?limit=100'),
  });
  return (
    <>
      <h1>Rollouts</h1>
      <Loadable query={rollouts}>
        {() => (
          <Table columns={['bundle', 'state', 'commits', 'stages', 'started']}>
            {rollouts.data!.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link to={`/rollouts/${r.id}`}>{r.bundle}</Link>
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>
                  <Short id={r.fromCommit} /> → <Short id={r.toCommit} />
                </td>
                <td>{r.stages.map((s) => `${s.name}: ${s.state}`).join(' → ')}</td>
                <td>
                  <Ago at={r.createdAt} />
                </td>
              </tr>
            ))}
            {rollouts.data!.items.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  no rollouts yet
                </td>
              </tr>
            )}
          </Table>
        )}
      </Loadable>
    </>
  );
}

function StageCard({ stage, now }: { stage: RolloutStageView; now: number }) {
  const done = stage.clusters.filter((c) => c.state === 'Succeeded').length;
  const total = stage.clusters.length;
  const bakeLeft =
    stage.state === 'Baking' && stage.bakedSince !== null && stage.bakeTimeMs > 0
      ? Math.max(0, Math.ceil((Date.parse(stage.bakedSince) + stage.bakeTimeMs - now) / 1000))
      : null;
  return (
    <li
      className={`stage stage-${stage.state}`}
      data-testid={`stage-${stage.name}`}
      aria-label={`Stage ${stage.name}: ${stage.state}`}
    >
      <div className="stage-head">
        <strong>{stage.name}</strong> <StateBadge state={stage.state} />
      </div>
      <progress
        max={Math.max(total, 1)}
        value={done}
        aria-label={`${stage.name}: ${done} of ${total} clusters done`}
      />
      <div className="muted">
        {done}/{total} clusters done
        {stage.requireApproval &&
          !stage.approved &&
          !['Succeeded', 'RolledBack', 'Cancelled'].includes(stage.state) &&
          ' · waits for promote'}
        {stage.approved && ' · promoted'}
      </div>
      {bakeLeft !== null && (
        <div className="bake" role="timer" aria-live="off">
          baking: {bakeLeft} s left
        </div>
      )}
      <ul className="plain stage-clusters">
        {stage.clusters.map((c) => (
          <li key={c.name}>
            <Link to={`/clusters/${seg(c.name)}`}>{c.name}</Link> <StateBadge state={c.state} />
            {c.reason && <div className="reason">{c.reason}</div>}
          </li>
        ))}
      </ul>
    </li>
  );
}

type Action = 'pause' | 'resume' | 'promote' | 'abort' | 'rollback';

/** The actions a rollout in `state` accepts (the hub checks again, and says why it refuses). */
function actionsFor(state: string): Action[] {
  if (TERMINAL.includes(state)) return [];
  return [state === 'Paused' ? 'resume' : 'pause', 'promote', 'abort', 'rollback'];
}

/** Operator actions with a confirm step and a reason for the audit trail. */
function Actions({ rollout }: { rollout: RolloutDetailView }) {
  const client = useQueryClient();
  const [action, setAction] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const dialog = useRef<HTMLDialogElement>(null);
  const mutation = useMutation({
    mutationFn: (a: { action: Action; reason: string; stage?: string }) =>
      api<RolloutView>(`/rollouts/${rollout.id}/${a.action}`, {
        method: 'POST',
        body: { ...(a.reason ? { reason: a.reason } : {}), ...(a.stage ? { stage: a.stage } : {}) },
      }),
    onSuccess: () => {
      dialog.current?.close();
      setAction(null);
      void client.invalidateQueries({ queryKey: ['rollout'] });
    },
  });
  const current = rollout.stages.find(
    (s) => !['Succeeded', 'Cancelled', 'RolledBack', 'Failed'].includes(s.state),
  );
  const open = (a: Action) => {
    mutation.reset();
    setAction(a);
    setReason('');
    dialog.current?.showModal();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (action)
      mutation.mutate({
        action,
        reason: reason.trim(),
        stage: action === 'promote' ? current?.name : undefined,
      });
  };
  const actions = actionsFor(rollout.state);
  return (
    <>
      {actions.length > 0 && (
        <div className="actions" role="group" aria-label="Rollout actions">
          {actions.map((a) => (
            <button
              key={a}
              type="button"
              className={a === 'abort' || a === 'rollback' ? 'danger' : ''}
              onClick={() => open(a)}
            >
              {a[0]!.toUpperCase() + a.slice(1)}
            </button>
          ))}
        </div>
      )}
      <dialog ref={dialog} aria-labelledby="confirm-h" onClose={() => setAction(null)}>
        <form onSubmit={submit}>
          <h2 id="confirm-h">
            {action && `${action[0]!.toUpperCase()}${action.slice(1)}`} rollout of {rollout.bundle}?
          </h2>
          {action === 'promote' && current && <p>Passes the gate of stage {current.name}.</p>}
          {action === 'rollback' && <p>Every cluster goes back to the revision it ran before.</p>}
          {action === 'abort' && <p>The rollout stops; clusters keep what they run now.</p>}
          <label htmlFor="reason">Reason (kept in the audit trail)</label>
          <textarea
            id="reason"
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.target.value)}
            rows={3}
          />
          {mutation.error && <ErrorNote error={mutation.error} />}
          <div className="actions">
            <button type="submit" disabled={mutation.isPending}>
              Confirm {action}
            </button>
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** A rollout: its stages as a pipeline, held clusters and why, the audit trail, and actions. */
export function RolloutPage() {
  const { id = '' } = useParams();
  const { whoami } = useSession();
  const rollout = useQuery({
    queryKey: ['rollout', id],
    queryFn: () => api<RolloutDetailView>(`/rollouts/${seg(id)}`),
  });
  const bundleName = rollout.data?.bundle;
  const bundle = useQuery({
    queryKey: ['bundle', bundleName, 'deployment', 'rollout'],
    queryFn: () => api<BundleDetailView>(`/bundles/${seg(bundleName!)}`),
    enabled: bundleName !== undefined,
  });
  const running = rollout.data !== undefined && !TERMINAL.includes(rollout.data.state);
  const now = useNow(running);
  return (
    <>
      <h1>Rollout</h1>
      <Loadable query={rollout}>
        {() => {
          const r = rollout.data!;
          const held = (bundle.data?.deployments ?? []).filter((d) => d.state === 'OutOfSync');
          return (
            <>
              <dl className="facts">
                <dt>Bundle</dt>
                <dd>
                  <Link to={`/bundles/${seg(r.bundle)}`}>{r.bundle}</Link>
                </dd>
                <dt>State</dt>
                <dd data-testid="rollout-state">
                  <StateBadge state={r.state} />{' '}
                  {r.reason && <span className="reason">{r.reason}</span>}
                </dd>
                <dt>Commits</dt>
                <dd>
                  <Short id={r.fromCommit} /> → <Short id={r.toCommit} />
                </dd>
                <dt>Failures</dt>
                <dd>{r.failures}</dd>
                <dt>Started</dt>
                <dd>
                  <Ago at={r.createdAt} now={now} />
                </dd>
              </dl>
              {canOperate(whoami) ? (
                <Actions rollout={r} />
              ) : (
                <p className="muted">Read-only: your token has the {whoami.role} role.</p>
              )}
              <h2>Stages</h2>
              <ol className="pipeline" aria-label="Stages">
                {r.stages.map((s) => (
                  <StageCard key={s.name} stage={s} now={now} />
                ))}
              </ol>
              {r.unmatched.length > 0 && (
                <p className="warn" role="alert">
                  Clusters no stage takes: {r.unmatched.join(', ')}
                </p>
              )}
              <h2>Held clusters</h2>
              {bundle.error && <ErrorNote error={bundle.error} />}
              {held.length === 0 ? (
                <p className="muted">none</p>
              ) : (
                <ul className="plain" data-testid="held">
                  {held.map((d) => (
                    <li key={d.cluster}>
                      <Link to={`/clusters/${seg(d.cluster)}`}>{d.cluster}</Link>:{' '}
                      <span className="reason">{d.message}</span>
                    </li>
                  ))}
                </ul>
              )}
              <h2>Audit trail</h2>
              <Table testId="audit" columns={['when', 'who', 'what', 'cluster', 'reason']}>
                {r.audit.map((a, i) => (
                  <tr key={i}>
                    <td>
                      <time dateTime={a.at}>{new Date(a.at).toLocaleTimeString()}</time>
                    </td>
                    <td>{a.actor}</td>
                    <td>
                      {a.action}
                      {a.from !== a.to && a.to ? ` (${a.from ?? '—'} → ${a.to})` : ''}
                    </td>
                    <td>{a.cluster ?? ''}</td>
                    <td className="reason">{a.reason ?? ''}</td>
                  </tr>
                ))}
              </Table>
            </>
          );
        }}
      </Loadable>
    </>
  );
}
