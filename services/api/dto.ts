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

const target = z
  .strictObject({
    clusterSelector: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    clusterGroup: z.string().optional(),
    clusterName: z.string().optional(),
  })
  .refine(
    (t) =>
      [t.clusterSelector, t.clusterGroup, t.clusterName].filter((v) => v !== undefined).length ===
      1,
    { message: 'a target names exactly one of clusterSelector, clusterGroup, clusterName' },
  );

/** POST /api/v1/gitrepos and PUT /api/v1/gitrepos/{name} */
export const GitRepoBody = z.strictObject({
  name: z.string(),
  url: z.string().describe('https://, http:// or file:// URL of the repository'),
  branch: z.string().min(1).max(255).optional().describe('default: main'),
  revision: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/, 'must be a commit sha')
    .optional()
    .describe('pin a commit instead of following the branch'),
  paths: z
    .array(z.string().max(1000))
    .max(100)
    .optional()
    .describe('directories holding bundles; default: the repository root'),
  pollingInterval: z
    .string()
    .optional()
    .describe('e.g. 15s (default); 0 turns polling off (webhooks still sync)'),
  targets: z.array(target).max(100).optional().describe('which clusters get the bundles'),
  auth: z
    .union([
      z.strictObject({ username: z.string(), password: z.string() }),
      z.strictObject({ token: z.string() }),
    ])
    .optional()
    .describe('http(s) credentials; stored, never returned'),
  webhookSecret: z
    .string()
    .min(8)
    .max(256)
    .optional()
    .describe('verifies GitHub/Gitea signatures and GitLab tokens'),
  helmRepoCredentials: z
    .record(
      z.string().max(2000),
      z.strictObject({
        username: z.string().max(1000).optional(),
        password: z.string().max(10_000).optional(),
        token: z.string().max(10_000).optional(),
        caBundle: z.string().max(1_000_000).optional(),
      }),
    )
    .optional()
    .describe(
      'credentials for Helm repositories and OCI registries, keyed by URL prefix (https://charts.example.com/, oci://registry.example.com/org): username+password or token, and/or a PEM caBundle; stored encrypted, never returned',
    ),
  helmAllowHttp: z
    .boolean()
    .optional()
    .describe('fetch charts over plain http too (default false: https only)'),
});

/**
 * PATCH /api/v1/gitrepos/{name}: the fields given replace the stored ones, the others stay.
 * `null` clears `revision` (follow the branch again), `auth` and `webhookSecret`.
 */
export const PatchGitRepoBody = z.strictObject({
  name: z.string().optional().describe('must equal the name in the path when given'),
  generation: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('apply only if the GitRepo is still at this generation (else 409)'),
  url: GitRepoBody.shape.url.optional(),
  branch: GitRepoBody.shape.branch,
  revision: GitRepoBody.shape.revision.nullable(),
  paths: GitRepoBody.shape.paths,
  pollingInterval: GitRepoBody.shape.pollingInterval,
  targets: GitRepoBody.shape.targets,
  auth: GitRepoBody.shape.auth.nullable(),
  webhookSecret: GitRepoBody.shape.webhookSecret.nullable(),
  helmRepoCredentials: GitRepoBody.shape.helmRepoCredentials.nullable(),
  helmAllowHttp: GitRepoBody.shape.helmAllowHttp,
});

/** POST /api/v1/api-tokens */
export const CreateApiTokenBody = z.strictObject({
  name: z.string().describe('DNS-1123 label, e.g. ci-deployer'),
  role: z.enum(['viewer', 'operator', 'admin']),
  ttl: z.string().optional().describe('lifetime, e.g. 30d as 720h; default: no expiry'),
  description: z.string().max(500).optional(),
});

/** Largest total size of a values source's data (a Kubernetes Secret or ConfigMap holds 1 MiB). */
export const MAX_VALUES_SOURCE_BYTES = 1024 * 1024;

/**
 * Body of `PUT /api/v1/gitrepos/{name}/values/{secrets|configmaps}/{namespace}/{name}`: the
 * `data` of the Secret or ConfigMap fleet.yaml `helm.valuesFrom` refers to (key → YAML text).
 */
export const ValuesSourceBody = z.strictObject({
  data: z
    .record(
      z
        .string()
        .max(253)
        .regex(/^[-._a-zA-Z0-9]+$/, 'keys are made of letters, digits, "-", "_" and "."'),
      z.string(),
    )
    .refine(
      (data) =>
        Object.entries(data).reduce(
          (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
          0,
        ) <= MAX_VALUES_SOURCE_BYTES,
      { message: `data is larger than ${MAX_VALUES_SOURCE_BYTES} bytes` },
    ),
});

/** POST /api/v1/gitrepos/{name}/plan: what to plan (nothing: the GitRepo's branch head). */
export const PlanBody = z
  .strictObject({
    revision: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'must be a full commit sha (40 hex digits)')
      .optional()
      .describe('the commit to plan'),
    branch: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe("a branch to plan the head of (a pull request's head); default: the GitRepo's"),
  })
  .refine((b) => b.revision === undefined || b.branch === undefined, {
    message: 'give revision or branch, not both',
  });
