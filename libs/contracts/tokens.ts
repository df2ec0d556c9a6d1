/**
 * Token kinds are told apart by prefix, so the agent knows whether it holds a registration
 * token (register first) or an agent token (bootstrap directly), and so leaked tokens are
 * recognisable by secret scanners.
 */
export const TokenPrefix = {
  /** Identifies one cluster's agent. */
  Agent: 'fla_',
  /** Lets agents register themselves (limited uses and lifetime). */
  Registration: 'flr_',
  /** A person's or a program's access to the REST and gRPC API, with a role. */
  Api: 'flt_',
} as const;
export type TokenPrefix = (typeof TokenPrefix)[keyof typeof TokenPrefix];
