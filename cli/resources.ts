import { z } from 'zod';
import { UnexpectedResponseError } from './api-client.js';

// Schemas of what the CLI reads from the hub. They only require what the CLI prints, and keep
// every other field (loose objects), so `-o json|yaml` shows the hub's answer unabridged.

const labels = z.record(z.string(), z.string());

/** One (bundle, cluster) deployment, as listed in a cluster's detail. */
export const deploymentSchema = z.looseObject({
  bundle: z.string(),
  commit: z.string().nullish(),
  desiredRevision: z.string().nullish(),
  appliedRevision: z.string().nullish(),
  state: z.string(),
  message: z.string().nullish(),
});
/** See {@link deploymentSchema}. */
export type Deployment = z.infer<typeof deploymentSchema>;

/** A cluster as `GET /clusters` and `GET /clusters/{name}` return it. */
export const clusterSchema = z.looseObject({
  name: z.string(),
  labels: labels.nullish().transform((l) => l ?? {}),
  state: z.string(),
  lastSeen: z.string().nullish(),
  agentVersion: z.string().nullish(),
  kubernetesVersion: z.string().nullish(),
  createdAt: z.string().nullish(),
  deployments: z.array(deploymentSchema).optional(),
});
/** See {@link clusterSchema}. */
export type Cluster = z.infer<typeof clusterSchema>;

/** The answer to `POST /clusters`: the new cluster and its agent token. */
export const registeredClusterSchema = z.looseObject({
  cluster: clusterSchema,
  token: z.string(),
});
/** See {@link registeredClusterSchema}. */
export type RegisteredCluster = z.infer<typeof registeredClusterSchema>;

/** A structured label selector (`{matchLabels, matchExpressions}`). */
export const labelSelectorSchema = z.looseObject({
  matchLabels: labels.nullish(),
  matchExpressions: z
    .array(
      z.looseObject({
        key: z.string(),
        operator: z.string(),
        values: z.array(z.string()).nullish(),
      }),
    )
    .nullish(),
});
/** See {@link labelSelectorSchema}. */
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** A cluster group as listed, created, or fetched (the detail adds members and a summary). */
export const clusterGroupSchema = z.looseObject({
  name: z.string(),
  selector: labelSelectorSchema.nullish(),
  selectorText: z.string().nullish(),
  clusterCount: z.number().nullish(),
  clusters: z.array(z.string()).nullish(),
  summary: z
    .looseObject({
      total: z.number(),
      online: z.number(),
      offline: z.number(),
      pending: z.number(),
    })
    .nullish(),
  createdAt: z.string().nullish(),
});
/** See {@link clusterGroupSchema}. */
export type ClusterGroup = z.infer<typeof clusterGroupSchema>;

/** A list answer `{items, continue?}` whose items follow `item`. */
export function listSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({ items: z.array(item), continue: z.string().nullish() });
}

/**
 * Checks a hub answer against a schema; a mismatch becomes one line naming the request and the
 * first offending fields, instead of a crash further down.
 */
export function parseResponse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  request: string,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
  throw new UnexpectedResponseError(`unexpected response from the hub for ${request}: ${issues}`);
}

/**
 * The Kubernetes string form of a structured selector (`env=prod,region in (eu,us)`), for
 * hubs that send no `selectorText`; `<none>` when it is empty.
 */
export function formatSelector(selector: LabelSelector | null | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    parts.push(`${key}=${value}`);
  }
  for (const expr of selector?.matchExpressions ?? []) {
    const values = (expr.values ?? []).join(',');
    switch (expr.operator) {
      case 'In':
        parts.push(`${expr.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expr.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expr.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expr.key}`);
        break;
      default:
        parts.push(`${expr.key} ${expr.operator} (${values})`);
    }
  }
  return parts.length > 0 ? parts.join(',') : '<none>';
}
