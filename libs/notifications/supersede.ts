import { type NotificationEvent, commitStateOf } from './events.js';
import { statusContext } from './payloads.js';

/** An outbox delivery as the supersede rule sees it: its outbox id (order) and event. */
export interface StatusDelivery {
  id: string;
  event: NotificationEvent;
}

/**
 * What a commit status is set on: the GitRepo, the context (bundle) and the commit; null when
 * the event sets no commit status. Two deliveries to one target with the same key overwrite
 * each other on the forge.
 */
export function commitStatusKey(e: NotificationEvent): string | null {
  if (commitStateOf(e) === null || e.commit === undefined) return null;
  return JSON.stringify([e.gitrepo ?? null, statusContext('', e), e.commit]);
}

/**
 * The delivered commit status that makes `candidate` stale, or null when it may be sent.
 * `delivered` are deliveries already delivered to the same target. A status is stale when a
 * later one (by outbox order) for the same GitRepo, context and commit was delivered, and a
 * `pending` is stale once a final state (`success` or `failure`) for them was delivered:
 * sending it would overwrite the forge's newer or final state.
 */
export function supersededBy(
  candidate: StatusDelivery,
  delivered: readonly StatusDelivery[],
): StatusDelivery | null {
  const key = commitStatusKey(candidate.event);
  if (key === null) return null;
  const pending = commitStateOf(candidate.event) === 'pending';
  const id = BigInt(candidate.id);
  for (const d of delivered) {
    if (d.id === candidate.id || commitStatusKey(d.event) !== key) continue;
    if (BigInt(d.id) > id) return d;
    if (pending && commitStateOf(d.event) !== 'pending') return d;
  }
  return null;
}
