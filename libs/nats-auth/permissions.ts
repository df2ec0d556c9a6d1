import type { Subjects } from '../contracts/subjects.js';

/** What one agent's NATS user may do; everything else is denied by the server. */
export interface AgentPermissions {
  /** Subjects it may publish to: its own hub-bound subjects (status, heartbeat, sync, content). */
  publish: string[];
  /** Subjects it may subscribe to: what the hub sends it, and replies under its inbox prefix. */
  subscribe: string[];
  /**
   * The prefix the agent's connection must use for reply subjects (`inboxPrefix` of the NATS
   * client): request replies and JetStream publish acknowledgements arrive under it.
   */
  inboxPrefix: string;
}

/**
 * The permissions of cluster `cluster`'s agent, from the subjects of the hub (so the subject
 * prefix of a test run is part of them). The agent needs no JetStream API: it publishes status
 * reports on a plain subject that a stream captures, and the stream's acknowledgement comes back
 * to its inbox, like any reply.
 */
export function agentPermissions(subjects: Subjects, cluster: string): AgentPermissions {
  const inboxPrefix = subjects.agentInboxPrefix(cluster);
  return {
    publish: [subjects.agentPublishes(cluster)],
    subscribe: [subjects.agentReceives(cluster), `${inboxPrefix}.>`],
    inboxPrefix,
  };
}
