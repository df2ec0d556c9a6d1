// A rollout record in a few lines of plain text, for `flotilla rollout get`, logs and the demo.
import { compareNames } from './stages.js';
import { ClusterRolloutState, type RolloutRecord } from './types.js';

function short(revision: string | null): string {
  return revision === null ? '(none)' : revision.slice(0, 12);
}

/**
 * Describes a rollout for humans: its state and reason, then one line per stage with its state
 * and how many clusters are done, naming the clusters that are not, then the Skipped ones.
 */
export function describeRollout(record: RolloutRecord): string {
  const lines: string[] = [];
  const reason = record.reason ? ` — ${record.reason}` : '';
  lines.push(
    `${record.state} ${record.fromLabel ?? short(record.fromRevision)} → ${record.toLabel ?? short(record.toRevision)}${reason}`,
  );
  for (const stage of record.stages) {
    const done = stage.clusters.filter(
      (name) => record.clusters[name]?.state === ClusterRolloutState.Succeeded,
    ).length;
    const others = stage.clusters
      .filter((name) => record.clusters[name]?.state !== ClusterRolloutState.Succeeded)
      .map((name) => `${name} ${record.clusters[name]?.state ?? 'unknown'}`);
    const approved = stage.approved ? ', promoted' : '';
    const rest = others.length > 0 ? `: ${others.join(', ')}` : '';
    lines.push(
      `  stage ${stage.name} ${stage.state} (${done}/${stage.clusters.length} succeeded${approved})${rest}`,
    );
  }
  const skipped = Object.entries(record.clusters)
    .filter(([, c]) => c.state === ClusterRolloutState.Skipped)
    .map(([name]) => name)
    .sort(compareNames);
  if (skipped.length > 0) {
    lines.push(`  not rolled out (match no stage): ${skipped.join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * How rollout messages name one side of a rollout for people: its commit, or the revision when
 * both sides are the same commit (a chart range resolved to a new version); "the bundle removed"
 * when no cluster ran the bundle before.
 */
export function revisionLabel(
  commit: string | null,
  otherCommit: string | null,
  revisions: (string | null)[],
): string {
  const known = [...new Set(revisions.filter((r): r is string => r !== null))];
  if (commit === null || known.length === 0) return 'the bundle removed (first deployment)';
  if (commit !== otherCommit) return `commit ${commit.slice(0, 8)}`;
  return known.length === 1
    ? `revision ${known[0]!.slice(0, 12)} of commit ${commit.slice(0, 8)}`
    : `the revisions of commit ${commit.slice(0, 8)}: ${known.map((r) => r.slice(0, 12)).join(', ')}`;
}
