/**
 * What the hub tells a cluster of one bundle: run a revision (Upsert), or remove it (Remove) —
 * a change a delivery pass committed, or what a sync finds missing.
 */
export type DesiredChange =
  | { kind: 'Upsert'; bundle: string; cluster: string; revision: string; commit: string }
  | { kind: 'Remove'; bundle: string; cluster: string };

/** What an agent told at its sync that it holds. */
export interface HeldBundle {
  bundle: string;
  revision: string;
}

/** The outcome of comparing what an agent holds with what the hub wants there. */
export interface SyncDiff {
  /** The changes to send, in the order of `desired`, then Removes of what the hub does not know. */
  changes: DesiredChange[];
  /** Bundles the hub wants on the cluster that the agent does not hold at all. */
  notHeld: string[];
}

/**
 * Everything that differs between what the agent of `cluster` holds and what the hub wants
 * there (`desired`, one entry per bundle): an Upsert the agent holds at another revision or not
 * at all, a Remove of a bundle it still holds, and a Remove of every held bundle the hub no
 * longer knows for the cluster.
 */
export function syncDiff(
  cluster: string,
  held: readonly HeldBundle[],
  desired: readonly DesiredChange[],
): SyncDiff {
  const heldRevisions = new Map(held.map((h) => [h.bundle, h.revision]));
  const wanted = new Set(desired.map((d) => d.bundle));
  const changes: DesiredChange[] = desired.filter((d) =>
    d.kind === 'Upsert' ? heldRevisions.get(d.bundle) !== d.revision : heldRevisions.has(d.bundle),
  );
  for (const bundle of heldRevisions.keys())
    if (!wanted.has(bundle)) changes.push({ kind: 'Remove', bundle, cluster });
  const notHeld = desired
    .filter((d) => d.kind === 'Upsert' && !heldRevisions.has(d.bundle))
    .map((d) => d.bundle);
  return { changes, notHeld };
}
