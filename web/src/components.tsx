import { useEffect, useState, type CSSProperties, type ReactNode } from 'react';
import { ApiError } from './api.js';

/** Severity class of a state, for its colour (worst first in the status model). */
export function stateTone(state: string): 'bad' | 'warn' | 'good' | 'idle' | 'busy' {
  switch (state) {
    case 'ErrApplied':
    case 'Failed':
    case 'TimedOut':
    case 'Offline':
    case 'RolledBack':
    case 'Aborted':
      return 'bad';
    case 'Modified':
    case 'OutOfSync':
    case 'NotReady':
    case 'Paused':
    case 'WaitApplied':
    case 'Held':
    case 'AwaitingApproval':
      return 'warn';
    case 'Ready':
    case 'Online':
    case 'Succeeded':
      return 'good';
    case 'Progressing':
    case 'Updating':
    case 'Baking':
      return 'busy';
    default:
      return 'idle';
  }
}

/** A state as a coloured badge; the word is always shown, so colour is never the only cue. */
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge tone-${stateTone(state)}`}>{state}</span>;
}

/** The first 8 characters of a commit or revision id, the whole id in the tooltip. */
export function Short({ id }: { id: string | null | undefined }) {
  if (!id) return <span className="muted">—</span>;
  return (
    <code title={id} className="sha">
      {id.slice(0, 8)}
    </code>
  );
}

/** A query's loading or error state, or its content. */
export function Loadable({
  query,
  children,
}: {
  query: { isPending: boolean; error: Error | null };
  children: () => ReactNode;
}) {
  if (query.error) return <ErrorNote error={query.error} />;
  if (query.isPending)
    return (
      <p className="muted" role="status">
        Loading…
      </p>
    );
  return <>{children()}</>;
}

export function ErrorNote({ error }: { error: Error }) {
  const status = error instanceof ApiError ? ` (${error.status})` : '';
  return (
    <p className="error" role="alert">
      {error.message}
      {status}
    </p>
  );
}

/** Counts by state as a row of badges with numbers. */
export function Counts({ byState }: { byState: Record<string, number> }) {
  const entries = Object.entries(byState).filter(([, n]) => n > 0);
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <span className="counts">
      {entries.map(([state, n]) => (
        <span key={state} className={`badge tone-${stateTone(state)}`}>
          {state} {n}
        </span>
      ))}
    </span>
  );
}

/** A time as "12 s ago", the exact time in the tooltip. */
export function Ago({ at, now }: { at: string | null; now?: number }) {
  const clock = useNow(now === undefined, 5_000);
  now ??= clock;
  if (!at) return <span className="muted">never</span>;
  const s = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  const text =
    s < 60
      ? `${s} s ago`
      : s < 3600
        ? `${Math.round(s / 60)} min ago`
        : `${Math.round(s / 3600)} h ago`;
  return (
    <time dateTime={at} title={at}>
      {text}
    </time>
  );
}

/** Labels as `key=value` chips. */
export function Labels({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span className="muted">no labels</span>;
  return (
    <span className="labels">
      {entries.map(([k, v]) => (
        <code key={k} className="label">
          {k}={v}
        </code>
      ))}
    </span>
  );
}

/** The time now, ticking every `everyMs` while `on`, for countdowns and "ago" texts. */
export function useNow(on: boolean, everyMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [on, everyMs]);
  return now;
}

/**
 * A table with a header row of `columns` (plain text) and `children` as its body rows;
 * `testId` becomes its `data-testid`.
 */
export function Table({
  columns,
  testId,
  children,
}: {
  columns: string[];
  testId?: string;
  children: ReactNode;
}) {
  return (
    <table data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** The style of a virtualized grid row: the grid's `columns`, placed `start` px down. */
export function virtualRowStyle(columns: string, start: number): CSSProperties {
  return {
    gridTemplateColumns: columns,
    position: 'absolute',
    top: 0,
    left: 0,
    right: 0,
    transform: `translateY(${start}px)`,
  };
}

/** The "Label selector" filter field; `describedBy` names the element that explains the syntax. */
export function SelectorField({
  value,
  onChange,
  placeholder,
  describedBy,
}: {
  value: string;
  onChange: (value: string) => void;
  placeholder: string;
  describedBy?: string;
}) {
  return (
    <label>
      Label selector
      <input
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        spellCheck={false}
        aria-describedby={describedBy}
      />
    </label>
  );
}
