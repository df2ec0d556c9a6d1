import { z } from 'zod';

const labels = z.record(z.string(), z.string()).describe('Kubernetes labels (key: value)');

/** POST /api/v1/clusters */
export const RegisterClusterBody = z.strictObject({
  name: z.string().describe('DNS-1123 label, e.g. eu-1'),
  labels: labels.optional(),
});

/** PATCH /api/v1/clusters/{name} — replaces the labels. */
export const PatchClusterBody = z.strictObject({ labels });

/** A selector in Kubernetes string syntax, or the LabelSelector object. */
const selector = z.union([
  z.string().describe("Kubernetes selector syntax, e.g. 'env=prod,region in (eu,us)'"),
  z.object({
    matchLabels: labels.optional(),
    matchExpressions: z
      .array(
        z.object({
          key: z.string(),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  }),
]);

/** POST /api/v1/cluster-groups */
export const CreateClusterGroupBody = z.strictObject({ name: z.string(), selector });

/** PUT /api/v1/cluster-groups/{name} */
export const ReplaceClusterGroupBody = z.strictObject({ name: z.string().optional(), selector });

/** POST /api/v1/registration-tokens */
export const CreateRegistrationTokenBody = z.strictObject({
  ttl: z.string().optional().describe('lifetime, e.g. 1h, 24h (default), 30m'),
  maxUses: z.number().int().min(1).max(1_000_000).optional().describe('default: unlimited'),
  labels: labels.optional().describe('labels given to every cluster registered with it'),
  description: z.string().max(500).optional(),
});

/** POST /api/v1/agent/register (bearer: a registration token) */
export const AgentRegisterBody = z.strictObject({ name: z.string(), labels: labels.optional() });

/** JSON Schema of a body, for the OpenAPI document. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' });
}

/** Parses a request body; a ZodError becomes a 400 with every problem named. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new z.ZodError([
      { code: 'custom', path: [], message: 'request body must be a JSON object', input: body },
    ]);
  }
  return schema.parse(body);
}
