import { z } from 'zod';

/**
 * Deployment states, worst first. The agent reports WaitApplied, ErrApplied, Modified, NotReady
 * and Ready; the hub adds OutOfSync (held back by a rollout or pause), Pending (desired but not
 * yet reported at this revision) and Offline (the cluster's lease lapsed).
 */
export const DeploymentState = {
  ErrApplied: 'ErrApplied',
  WaitApplied: 'WaitApplied',
  Modified: 'Modified',
  OutOfSync: 'OutOfSync',
  Pending: 'Pending',
  NotReady: 'NotReady',
  Ready: 'Ready',
  Offline: 'Offline',
} as const;
export type DeploymentState = (typeof DeploymentState)[keyof typeof DeploymentState];

/** States an agent may report. */
export const reportedStates = [
  'WaitApplied',
  'ErrApplied',
  'Modified',
  'NotReady',
  'Ready',
] as const;
export type ReportedState = (typeof reportedStates)[number];

/**
 * Options that travel with a bundle revision (part of its content identity). The optional
 * fields come from Fleet's fleet.yaml options and are absent (so not in the id) when unused.
 */
export const DeploymentOptionsSchema = z.object({
  defaultNamespace: z.string().optional(),
  correctDrift: z.boolean().default(false),
  keepResources: z.boolean().default(false),
  forceConflicts: z.boolean().default(false),
  /** Labels for the bundle's namespace (Fleet `namespaceLabels`). */
  namespaceLabels: z.record(z.string(), z.string()).optional(),
  /** Annotations for the bundle's namespace (Fleet `namespaceAnnotations`). */
  namespaceAnnotations: z.record(z.string(), z.string()).optional(),
  /** Delete the bundle's namespace when the bundle is removed (Fleet `deleteNamespace`). */
  deleteNamespace: z.boolean().optional(),
  /** Fields of matching objects the drift check ignores (Fleet `diff.comparePatches`). */
  comparePatches: z
    .array(
      z.object({
        apiVersion: z.string().optional(),
        kind: z.string().optional(),
        name: z.string().optional(),
        namespace: z.string().optional(),
        operations: z
          .array(z.object({ op: z.string(), path: z.string(), value: z.string().optional() }))
          .optional(),
        jsonPointers: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  /** Status conditions the health check ignores (Fleet `ignore.conditions`). */
  ignoreConditions: z.array(z.record(z.string(), z.string())).optional(),
});
export type DeploymentOptions = z.infer<typeof DeploymentOptionsSchema>;

/**
 * hub → agent on `flotilla.agent.<cluster>.desired`: run `revision` of `bundle` (Upsert) or
 * remove the bundle's resources (Remove). The manifests are not inline: the agent fetches the
 * content of a revision it does not hold with `flotilla.hub.<cluster>.content` requests.
 */
export const DesiredStateSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('Upsert'),
    bundle: z.string(),
    /** sha256 (hex) of the normalized rendered objects plus options. */
    revision: z.string().regex(/^[0-9a-f]{64}$/),
    commit: z.string(),
    options: DeploymentOptionsSchema,
    /** Size in bytes of the revision's content (JSON array of objects). */
    size: z.number().int().nonnegative(),
    /** Number of content chunks to fetch. */
    chunks: z.number().int().positive(),
    /** sha256 (hex) of the content bytes; the agent refuses content that does not match. */
    contentSha256: z.string().regex(/^[0-9a-f]{64}$/),
    /**
     * The content itself (its exact bytes as UTF-8 text), when it is at most
     * {@link INLINE_CONTENT_BYTES}: the agent then has nothing to fetch.
     */
    content: z.string().optional(),
  }),
  z.object({ kind: z.literal('Remove'), bundle: z.string() }),
]);
export type DesiredState = z.infer<typeof DesiredStateSchema>;

/** Content up to this size travels inside the Upsert instead of being fetched. */
export const INLINE_CONTENT_BYTES = 16 * 1024;

/**
 * What every signed hub → agent payload (desired state, sync reply) carries besides its changes:
 * the cluster it is for, and its place in that cluster's sequence. The agent refuses a payload for
 * another cluster, and a desired state older than the newest it accepted (a captured message
 * published again must not roll the cluster back).
 */
export const SignedEnvelopeSchema = z.object({
  /** The cluster this payload is for. */
  cluster: z.string().min(1),
  /** Per-cluster sequence number (from PostgreSQL): strictly increasing, across hub restarts and replicas. */
  seq: z.number().int().positive(),
  /** When the hub signed it, ISO 8601. */
  issuedAt: z.string(),
});
export type SignedEnvelope = z.infer<typeof SignedEnvelopeSchema>;

/**
 * hub → agent on `flotilla.agent.<cluster>.desired`: bundles' changes (one, or several when a
 * delivery turn changes several bundles on a cluster), applied in order.
 */
export const DesiredBatchSchema = SignedEnvelopeSchema.extend({
  changes: z.array(DesiredStateSchema).min(1),
});
export type DesiredBatch = z.infer<typeof DesiredBatchSchema>;

/** What the agent accepts on its desired subject. */
export const DesiredMessageSchema = DesiredBatchSchema;
export type DesiredMessage = z.infer<typeof DesiredMessageSchema>;

/** The changes of a desired-state message, in order. */
export function changesOf(message: DesiredMessage): DesiredState[] {
  return message.changes;
}

/** agent → hub request on `flotilla.hub.<cluster>.content`: one chunk of a revision's content. */
export const ContentRequestSchema = z.object({
  revision: z.string().regex(/^[0-9a-f]{64}$/),
  chunk: z.number().int().nonnegative(),
});
export type ContentRequest = z.infer<typeof ContentRequestSchema>;

/** Content chunks are at most this many bytes (below NATS's default 1 MiB max payload). */
export const CONTENT_CHUNK_BYTES = 512 * 1024;

/** agent → hub request on `flotilla.hub.<cluster>.sync`: what the agent holds now. */
export const SyncRequestSchema = z.object({
  held: z.array(z.object({ bundle: z.string(), revision: z.string() })),
});
export type SyncRequest = z.infer<typeof SyncRequestSchema>;

/**
 * Reply to a sync request: every desired-state change the agent is missing, as of `seq` (the
 * hub takes the number before it reads the desired state, so the reply holds everything sent
 * with a lower one).
 */
export const SyncReplySchema = SignedEnvelopeSchema.extend({
  changes: z.array(DesiredStateSchema),
});
export type SyncReply = z.infer<typeof SyncReplySchema>;

/** One resource of a bundle as the agent sees it. */
/**
 * One field of a drifted object that differs from what the agent applied: values as JSON text,
 * cut by the agent (`live` absent when the live object lacks the field).
 */
export const FieldDriftSchema = z.object({
  path: z.string(),
  desired: z.string(),
  live: z.string().optional(),
});
export type FieldDrift = z.infer<typeof FieldDriftSchema>;

export const ResourceStatusSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  state: z.enum(['Ready', 'NotReady', 'Failed', 'Modified', 'Missing']),
  message: z.string().default(''),
  /**
   * With `Modified`: the fields the agent owns whose live value differs (bounded by the agent).
   * Optional: agents before it send none, and a hub before it ignores it.
   */
  drift: z.array(FieldDriftSchema).optional(),
});
export type ResourceStatus = z.infer<typeof ResourceStatusSchema>;

/** agent → hub on `flotilla.hub.<cluster>.status` (captured by a JetStream stream). */
export const StatusReportSchema = z.object({
  cluster: z.string(),
  bundle: z.string(),
  /** The revision applied (or being applied); null after the bundle was removed. */
  revision: z.string().nullable(),
  state: z.enum(reportedStates).or(z.literal('Removed')),
  message: z.string().default(''),
  resources: z.array(ResourceStatusSchema).default([]),
  /** Agent clock; reports of one bundle are ordered by it. */
  observedAt: z.string(),
});
export type StatusReport = z.infer<typeof StatusReportSchema>;

/** A status message carries at most this many reports. */
export const MAX_REPORTS_PER_MESSAGE = 100;

/**
 * agent → hub on `flotilla.hub.<cluster>.status`: several bundles' reports in one message (what
 * agents send: the reports that queue up while one message is being published travel together).
 * A message may also be one bare {@link StatusReport}.
 */
export const StatusBatchSchema = z.object({
  cluster: z.string(),
  reports: z.array(StatusReportSchema).min(1).max(MAX_REPORTS_PER_MESSAGE),
});
export type StatusBatch = z.infer<typeof StatusBatchSchema>;

/** What the hub accepts on a status subject: a batch, or one report. */
export const StatusMessageSchema = z.union([StatusBatchSchema, StatusReportSchema]);
export type StatusMessage = z.infer<typeof StatusMessageSchema>;

/** The reports of a status message. */
export function reportsOf(message: StatusMessage): StatusReport[] {
  return 'reports' in message ? message.reports : [message];
}
