import { z } from 'zod';

/** agent → hub on `flotilla.hub.<cluster>.heartbeat`. */
export const HeartbeatSchema = z.object({
  cluster: z.string().min(1),
  /** Agent build version. */
  agentVersion: z.string().max(100),
  /** Kubernetes server version (`v1.31.2`; a simulated cluster reports `v1.31.0+flotilla-sim`). */
  kubernetesVersion: z.string().max(100),
  /** How often this agent heartbeats (informational: the hub's lease is three of its own interval). */
  intervalMs: z.number().int().positive().max(3_600_000),
  /** Agent clock at sending, ISO 8601; informational only. */
  sentAt: z.string(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** Answer of `POST /api/v1/agent/bootstrap`: where and as whom the agent connects. */
export const BootstrapResponseSchema = z.object({
  cluster: z.string(),
  natsUrl: z.string(),
  subjectPrefix: z.string(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** The hub's ed25519 public key (PEM): the agent pins it and refuses unsigned desired state. */
  hubPublicKey: z.string().min(1),
  /**
   * The agent's own NATS user (a `.creds` file: user JWT and nkey seed), allowed to publish only
   * `flotilla.hub.<cluster>.>` and to subscribe only to `flotilla.agent.<cluster>.>` and its
   * inbox. Absent when the hub's NATS runs without authentication.
   */
  credentials: z.string().min(1).optional(),
  /**
   * The prefix the agent must use for reply subjects: its user may receive nothing else, and the
   * hub answers its requests on no other subject. Handed out also without NATS authentication.
   */
  inboxPrefix: z.string().min(1).optional(),
});
export type BootstrapResponse = z.infer<typeof BootstrapResponseSchema>;

/** Answer of `POST /api/v1/agent/register` (agent-initiated registration). */
export const AgentRegisterResponseSchema = z.object({
  cluster: z.object({ name: z.string(), labels: z.record(z.string(), z.string()) }),
  token: z.string(),
});
export type AgentRegisterResponse = z.infer<typeof AgentRegisterResponseSchema>;
