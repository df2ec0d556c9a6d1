import type { Subjects } from '../contracts/subjects.js';

/** Why a request's reply subject was refused. */
export const ReplyRefusal = {
  /** The request names no reply subject: there is nobody to answer. */
  Missing: 'missing',
  /** The reply subject is not under the requesting cluster's own inbox prefix. */
  NotOwnInbox: 'not-own-inbox',
  /** The reply subject is under the prefix but is no subject one can publish to. */
  Malformed: 'malformed',
} as const;
export type ReplyRefusal = (typeof ReplyRefusal)[keyof typeof ReplyRefusal];

/** A token of a subject one publishes to: no wildcard, no white space, not empty. */
const LITERAL_TOKEN = /^[^.*>\s]+$/;

/**
 * Whether the hub may answer a request from `cluster`'s agent on `reply`: only on a subject under
 * that cluster's own inbox prefix (what bootstrap hands the agent and what its NATS user may
 * receive), never on a subject the agent picked elsewhere (another cluster's desired state, the
 * JetStream API, hub events). Returns why not, or undefined when it may.
 */
export function replySubjectRefusal(
  subjects: Subjects,
  cluster: string,
  reply: string | undefined,
): ReplyRefusal | undefined {
  if (reply === undefined || reply === '') return ReplyRefusal.Missing;
  let prefix: string;
  try {
    prefix = `${subjects.agentInboxPrefix(cluster)}.`;
  } catch {
    return ReplyRefusal.NotOwnInbox;
  }
  if (!reply.startsWith(prefix)) return ReplyRefusal.NotOwnInbox;
  const rest = reply.slice(prefix.length).split('.');
  return rest.every((t) => LITERAL_TOKEN.test(t)) ? undefined : ReplyRefusal.Malformed;
}
