/**
 * NATS subjects shared by hub and agent. Every subject an agent may touch carries its cluster
 * name, so that each agent's NATS user can be limited to its own subjects. A non-empty prefix
 * (tests use one per run) is put in front of every subject.
 */
export interface Subjects {
  /** hub → agent: desired state for one cluster. */
  desired(cluster: string): string;
  /** hub → agent: commands (resync, ...). */
  command(cluster: string): string;
  /** agent → hub: deployment status reports. */
  status(cluster: string): string;
  /** agent → hub: liveness. */
  heartbeat(cluster: string): string;
  /** agent → hub request: "send me my full desired state". */
  sync(cluster: string): string;
  /** agent → hub request: one chunk of a revision's content. */
  content(cluster: string): string;
  /** Wildcards over every cluster's sync and content requests (hub side). */
  allSync(): string;
  allContent(): string;
  /** Wildcard over every cluster's heartbeats (hub side). */
  allHeartbeats(): string;
  /** Wildcard over every cluster's status reports (hub side). */
  allStatus(): string;
  /** Hub-internal change events, e.g. `event('cluster', 'eu-1')`. */
  event(kind: string, name: string): string;
  /** Hub-internal request subjects, e.g. `control('rollouts')` for operator actions. */
  control(name: string): string;
  /** Wildcard over events of one kind, or of every kind. */
  allEvents(kind?: string): string;
  /** Position of the cluster token within a hub-bound subject, for parsing. */
  clusterOf(subject: string): string | undefined;
  /** Every subject one agent publishes to (its NATS user may publish only these). */
  agentPublishes(cluster: string): string;
  /** Every subject the hub sends one agent (its NATS user may subscribe only to these). */
  agentReceives(cluster: string): string;
  /**
   * The prefix of one agent's reply subjects (request replies, JetStream publish acks): its NATS
   * user may subscribe under it, and no other agent's user may.
   */
  agentInboxPrefix(cluster: string): string;
}

/** A NATS subject token may not contain '.', '*', '>' or white space. */
const TOKEN = /^[^.*>\s]+$/;

export function createSubjects(prefix = ''): Subjects {
  if (prefix !== '' && !prefix.split('.').every((t) => TOKEN.test(t))) {
    throw new Error(`invalid subject prefix "${prefix}"`);
  }
  const root = prefix === '' ? 'flotilla' : `${prefix}.flotilla`;
  const token = (value: string): string => {
    if (!TOKEN.test(value)) throw new Error(`"${value}" cannot be used in a NATS subject`);
    return value;
  };
  const depth = root.split('.').length;
  return {
    desired: (c) => `${root}.agent.${token(c)}.desired`,
    command: (c) => `${root}.agent.${token(c)}.cmd`,
    status: (c) => `${root}.hub.${token(c)}.status`,
    heartbeat: (c) => `${root}.hub.${token(c)}.heartbeat`,
    sync: (c) => `${root}.hub.${token(c)}.sync`,
    content: (c) => `${root}.hub.${token(c)}.content`,
    allSync: () => `${root}.hub.*.sync`,
    allContent: () => `${root}.hub.*.content`,
    allHeartbeats: () => `${root}.hub.*.heartbeat`,
    allStatus: () => `${root}.hub.*.status`,
    event: (kind, name) => `${root}.events.${token(kind)}.${token(name)}`,
    control: (name) => `${root}.ctl.${token(name)}`,
    allEvents: (kind) =>
      kind === undefined ? `${root}.events.>` : `${root}.events.${token(kind)}.>`,
    // The token after the root's and the kind's, in a subject of exactly one more: found by
    // its dots, without splitting (the hub reads thousands of heartbeats a second).
    clusterOf: (subject) => {
      let start = 0;
      for (let i = 0; i <= depth; i++) {
        const dot = subject.indexOf('.', start);
        if (dot < 0) return undefined;
        start = dot + 1;
      }
      const end = subject.indexOf('.', start);
      if (end < 0 || subject.includes('.', end + 1)) return undefined;
      return subject.slice(start, end);
    },
    agentPublishes: (c) => `${root}.hub.${token(c)}.>`,
    agentReceives: (c) => `${root}.agent.${token(c)}.>`,
    // Under `_INBOX.` like every NATS inbox, but never one a client makes by default
    // (`_INBOX.<nuid>`): the root's first token is not a 22-character nuid.
    agentInboxPrefix: (c) => `_INBOX.${root}.agent.${token(c)}`,
  };
}
