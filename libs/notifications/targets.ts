import { z } from 'zod';

/** Kinds of notification targets. */
export const TargetType = {
  /** Generic JSON webhook (the event as JSON), optionally HMAC-signed. */
  Webhook: 'webhook',
  /** CloudEvents 1.0, structured mode (`application/cloudevents+json`), optionally HMAC-signed. */
  CloudEvents: 'cloudevents',
  /** A Slack (or Slack-compatible: Mattermost, Rocket.Chat) incoming webhook. */
  Slack: 'slack',
  /** A Microsoft Teams incoming webhook (or Workflows webhook), as a MessageCard. */
  Teams: 'teams',
  /** GitHub commit statuses. */
  GitHub: 'github',
  /** GitLab commit statuses. */
  GitLab: 'gitlab',
  /** Gitea (and Forgejo) commit statuses. */
  Gitea: 'gitea',
} as const;
export type TargetType = (typeof TargetType)[keyof typeof TargetType];
export const targetTypes = Object.values(TargetType) as [TargetType, ...TargetType[]];

/** Whether a target type sets commit statuses (rather than posting messages). */
export function isForge(type: TargetType): boolean {
  return type === TargetType.GitHub || type === TargetType.GitLab || type === TargetType.Gitea;
}

/** Limits on what a target may ask for. */
export const MAX_TIMEOUT_MS = 60_000;

/** The fields of a notification target, before the checks across fields. */
export const NotificationTargetFieldsSchema = z.strictObject({
  type: z.enum(targetTypes),
  /**
   * Where to send: the webhook URL (it may hold a token: kept secret), or for a forge the API
   * base (e.g. https://api.github.com, https://gitlab.example.com); a forge's defaults to the
   * GitRepo's host.
   */
  url: z.string().min(1).max(2048).optional(),
  /** HMAC-SHA256 key: the body's signature goes in the X-Flotilla-Signature-256 header. */
  hmacKey: z.string().min(16, 'hmacKey must be at least 16 characters').max(512).optional(),
  /** The forge token (default: the GitRepo's credentials). */
  token: z.string().min(1).max(4096).optional(),
  /** Plain http allowed (default false: https only). */
  allowHttp: z.boolean().default(false),
  /** Deliveries per minute, at most (default 60). */
  rateLimitPerMinute: z.number().int().min(1).max(6000).default(60),
  /** How long one delivery may take (default 10 s). */
  timeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).default(10_000),
  /** The commit status context prefix (default `flotilla`: `flotilla/<bundle>`). */
  context: z
    .string()
    .regex(/^[A-Za-z0-9._\-/]{1,100}$/, 'context: letters, digits, . _ - / only')
    .default('flotilla'),
});

/** Checks across the fields of a target: what each type needs and takes. */
export function checkTargetSpec(
  spec: z.infer<typeof NotificationTargetFieldsSchema>,
  ctx: z.RefinementCtx,
): void {
  const forge = isForge(spec.type);
  if (!forge && spec.url === undefined) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${spec.type} target needs a url` });
  }
  if (spec.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(spec.url);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'url is not a valid URL' });
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'url must be http(s)' });
    }
    if (url && url.protocol === 'http:' && !spec.allowHttp) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'url is plain http: use https, or set allowHttp: true',
      });
    }
  }
  if (forge && spec.hmacKey !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['hmacKey'], message: 'forges are not HMAC-signed' });
  }
  if (!forge && spec.token !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['token'], message: 'only forge targets take a token' });
  }
}

/** A notification target as a user writes it (secrets in plaintext; stored encrypted). */
export const NotificationTargetSpecSchema =
  NotificationTargetFieldsSchema.superRefine(checkTargetSpec);
export type NotificationTargetSpec = z.infer<typeof NotificationTargetSpecSchema>;
