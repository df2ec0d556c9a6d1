// Push webhooks from GitHub, GitLab and Gitea (Forgejo): verify, parse, and name the
// repositories they are about so that the matching GitRepos can be polled right away.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** A rejected webhook; `status` is the HTTP status to answer with (401 or 400). */
export class WebhookError extends Error {
  override name = 'WebhookError';
  readonly status: 400 | 401;

  constructor(status: 400 | 401, message: string) {
    super(message);
    this.status = status;
  }
}

/** The webhook providers `parsePushWebhook` understands. */
export type WebhookProvider = 'github' | 'gitlab' | 'gitea';

/**
 * A push (or ping) announced by a webhook.
 * - `repoUrls`: every URL the payload names for the repository (web, clone, ssh, git);
 *   compare them with `normalizeRepoUrl`.
 * - `branch`: set when a branch was pushed (`refs/heads/<branch>`); `tag` when a tag was.
 * - `commit`: the new tip; absent when the ref was deleted (`deleted: true`).
 * - `ping: true`: GitHub's hook-created ping; `repoUrls` is then empty, nothing to poll.
 */
export interface PushEvent {
  provider: WebhookProvider;
  repoUrls: string[];
  branch?: string;
  tag?: string;
  commit?: string;
  deleted?: boolean;
  ping?: boolean;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function hmacHex(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** Constant-time comparison of a hex signature with the expected digest. */
function signatureMatches(given: string | undefined, expected: Buffer): boolean {
  if (given === undefined || !/^[0-9a-f]+$/i.test(given.trim())) return false;
  const bytes = Buffer.from(given.trim(), 'hex');
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

/** Constant-time string equality that does not leak the length (compares SHA-256 digests). */
function tokenMatches(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

const ZERO_SHA = /^0+$/;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function detectProvider(headers: Headers): { provider: WebhookProvider; event: string } {
  // Gitea and Forgejo also send X-GitHub-Event (and X-Gogs-Event), so they are checked first.
  const gitea = header(headers, 'x-gitea-event') ?? header(headers, 'x-forgejo-event');
  if (gitea !== undefined) return { provider: 'gitea', event: gitea };
  const gitlab = header(headers, 'x-gitlab-event');
  if (gitlab !== undefined) return { provider: 'gitlab', event: gitlab };
  const github = header(headers, 'x-github-event');
  if (github !== undefined) return { provider: 'github', event: github };
  throw new WebhookError(
    400,
    'unknown webhook provider: expected an X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event header',
  );
}

function verify(provider: WebhookProvider, headers: Headers, body: Buffer, secret: string): void {
  switch (provider) {
    case 'github': {
      const given = header(headers, 'x-hub-signature-256');
      if (given === undefined) throw new WebhookError(401, 'missing X-Hub-Signature-256 header');
      const hex = given.startsWith('sha256=') ? given.slice('sha256='.length) : undefined;
      if (!signatureMatches(hex, hmacHex(secret, body))) {
        throw new WebhookError(401, 'X-Hub-Signature-256 does not match the payload');
      }
      return;
    }
    case 'gitlab': {
      const given = header(headers, 'x-gitlab-token');
      if (given === undefined) throw new WebhookError(401, 'missing X-Gitlab-Token header');
      if (!tokenMatches(given, secret)) throw new WebhookError(401, 'X-Gitlab-Token is wrong');
      return;
    }
    case 'gitea': {
      const given = header(headers, 'x-gitea-signature') ?? header(headers, 'x-forgejo-signature');
      if (given === undefined) throw new WebhookError(401, 'missing X-Gitea-Signature header');
      if (!signatureMatches(given, hmacHex(secret, body))) {
        throw new WebhookError(401, 'X-Gitea-Signature does not match the payload');
      }
      return;
    }
  }
}

function parseJson(headers: Headers, rawBody: Buffer): Record<string, unknown> {
  let text = rawBody.toString('utf8');
  // GitHub can deliver as application/x-www-form-urlencoded: payload=<json>.
  const contentType = header(headers, 'content-type') ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null)
      throw new WebhookError(400, 'form-encoded webhook without a payload field');
    text = payload;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new WebhookError(400, `webhook body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WebhookError(400, 'webhook body is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function urlsOf(...objects: Record<string, unknown>[]): string[] {
  const keys = [
    'clone_url',
    'html_url',
    'ssh_url',
    'git_url',
    'url',
    'git_http_url',
    'git_ssh_url',
    'http_url',
    'web_url',
    'homepage',
  ];
  const urls: string[] = [];
  for (const o of objects) {
    for (const key of keys) {
      const value = str(o[key]);
      // GitHub's repository.url is the API URL (api.github.com/repos/…), not the repository.
      if (value === undefined || /^https?:\/\/api\./i.test(value) || urls.includes(value)) continue;
      urls.push(value);
    }
  }
  return urls;
}

function fromRef(ref: string | undefined): Pick<PushEvent, 'branch' | 'tag'> {
  if (ref?.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref?.startsWith('refs/tags/')) return { tag: ref.slice('refs/tags/'.length) };
  return {};
}

/**
 * Verifies and parses a push webhook. The provider comes from the event header
 * (`X-Gitea-Event`/`X-Forgejo-Event` first, since Gitea also sends `X-GitHub-Event`; then
 * `X-Gitlab-Event`, `X-GitHub-Event`). With `secret`, the signature is checked over `rawBody`
 * before anything is parsed: GitHub `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`, GitLab
 * `X-Gitlab-Token` (the secret itself), Gitea `X-Gitea-Signature: <hex HMAC-SHA256>`.
 *
 * Push and tag-push events yield a `PushEvent`; a GitHub `ping` yields
 * `{ provider: 'github', repoUrls: [], ping: true }`.
 *
 * @throws WebhookError 401 — signature or token missing or wrong
 * @throws WebhookError 400 — unknown provider, an event other than push/ping, malformed JSON
 */
export function parsePushWebhook(headers: Headers, rawBody: Buffer, secret?: string): PushEvent {
  const { provider, event } = detectProvider(headers);
  if (secret !== undefined) verify(provider, headers, rawBody, secret);

  const isPing = provider === 'github' && event === 'ping';
  const isPush =
    provider === 'gitlab' ? event === 'Push Hook' || event === 'Tag Push Hook' : event === 'push';
  if (!isPush && !isPing) {
    throw new WebhookError(
      400,
      `unsupported ${provider} event "${event}": only push events are handled`,
    );
  }
  const body = parseJson(headers, rawBody);
  if (isPing) return { provider, repoUrls: [], ping: true };

  if (provider === 'gitlab') {
    const kind = str(body.object_kind);
    if (kind !== undefined && kind !== 'push' && kind !== 'tag_push') {
      throw new WebhookError(
        400,
        `unsupported gitlab object_kind "${kind}": only pushes are handled`,
      );
    }
  }
  const ref = str(body.ref);
  if (ref === undefined) throw new WebhookError(400, `${provider} push payload without a ref`);
  const repoUrls =
    provider === 'gitlab'
      ? urlsOf(obj(body.project), obj(body.repository))
      : urlsOf(obj(body.repository));
  if (repoUrls.length === 0) {
    throw new WebhookError(400, `${provider} push payload names no repository URL`);
  }
  const after = str(body.after) ?? (provider === 'gitlab' ? str(body.checkout_sha) : undefined);
  const deleted = body.deleted === true || (after !== undefined && ZERO_SHA.test(after));
  return {
    provider,
    repoUrls,
    ...fromRef(ref),
    ...(deleted ? { deleted: true } : after !== undefined ? { commit: after } : {}),
  };
}

/** Headers that carry a provider's id of one delivery (kept by the provider across retries). */
const DELIVERY_ID_HEADERS: Record<WebhookProvider, string[]> = {
  github: ['x-github-delivery'],
  gitlab: ['idempotency-key', 'x-gitlab-event-uuid'],
  gitea: ['x-gitea-delivery', 'x-forgejo-delivery'],
};

/**
 * The keys one delivery is remembered by, to accept it once: the provider's delivery id
 * (`delivery:<provider>:<id>`) when it sends one, and the sha256 of the exact bytes received
 * (`body:<hex>`), which a replay under a new delivery id still has (GitHub and Gitea sign the
 * body, so the same signature means the same body). Ids are cut to 200 characters.
 */
export function webhookReplayKeys(headers: Headers, rawBody: Buffer): string[] {
  const { provider } = detectProvider(headers);
  const keys: string[] = [];
  for (const name of DELIVERY_ID_HEADERS[provider]) {
    const id = header(headers, name)?.trim();
    if (id) keys.push(`delivery:${provider}:${id.slice(0, 200)}`);
  }
  keys.push(`body:${createHash('sha256').update(rawBody).digest('hex')}`);
  return keys;
}

// Hosts whose owner and repository names are case-insensitive.
const CASE_INSENSITIVE_HOSTS = new Set(['github.com', 'gitlab.com']);

/**
 * A comparison key for repository URLs: `host/path`, so that the https, ssh, scp-like
 * (`git@host:org/repo.git`) and git:// forms of one repository are equal. Scheme, user info,
 * port, query, fragment, a trailing `.git` and trailing slashes are dropped, and the host is
 * lower-cased. The path keeps its case except on github.com and gitlab.com, whose names are
 * case-insensitive; self-hosted servers may differ, so their paths are compared exactly.
 * Ports are dropped because ssh and https use different ones; a webhook only triggers a poll,
 * so an over-eager match costs little. Input that is not a URL is returned trimmed.
 */
export function normalizeRepoUrl(url: string): string {
  const input = url.trim();
  if (input.startsWith('/')) return input.replace(/\/+$/, ''); // a local path, not a remote
  let host: string;
  let path: string;
  const scp = input.includes('://') ? null : /^(?:[^@/\s]+@)?([^:/\s]+):(.*)$/.exec(input);
  if (scp?.[1] !== undefined && scp[2] !== undefined) {
    host = scp[1];
    path = scp[2];
  } else {
    let parsed: URL;
    try {
      parsed = new URL(input.includes('://') ? input : `https://${input}`);
    } catch {
      return input;
    }
    host = parsed.hostname;
    path = parsed.pathname;
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the encoded form
    }
  }
  host = host.toLowerCase().replace(/\.$/, '');
  path = path
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/i, '')
    .replace(/\/+$/, '');
  if (CASE_INSENSITIVE_HOSTS.has(host)) path = path.toLowerCase();
  return path === '' ? host : `${host}/${path}`;
}

/**
 * A pull request (GitHub, Gitea) or merge request (GitLab) that was opened or got new commits:
 * what a plan of it needs. `repoUrls` name the target repository, `baseBranch` the branch it
 * would merge into, `headCommit` the commit to plan.
 */
export interface PullRequestEvent {
  provider: WebhookProvider;
  repoUrls: string[];
  number: number;
  /** The provider's action (`opened`, `synchronize`, `open`, `update`, ...). */
  action: string;
  baseBranch: string;
  headBranch?: string;
  headCommit: string;
}

/** Actions that open a pull/merge request or give it new commits: each is worth a plan. */
const PLANNED_ACTIONS: Record<WebhookProvider, readonly string[]> = {
  github: ['opened', 'synchronize', 'reopened'],
  gitlab: ['open', 'update', 'reopen'],
  gitea: ['opened', 'synchronized', 'reopened'],
};

/** True when the headers announce a pull request (GitHub, Gitea) or merge request (GitLab). */
export function isPullRequestWebhook(headers: Headers): boolean {
  try {
    const { provider, event } = detectProvider(headers);
    return provider === 'gitlab' ? event === 'Merge Request Hook' : event === 'pull_request';
  } catch {
    return false;
  }
}

/**
 * Verifies (with `secret`) and parses a pull/merge request webhook. Returns undefined for an
 * action that brings no new commit to plan (closed, labeled, merged, ...).
 *
 * @throws WebhookError 401 — signature or token missing or wrong
 * @throws WebhookError 400 — not a pull/merge request event, or a malformed payload
 */
export function parsePullRequestWebhook(
  headers: Headers,
  rawBody: Buffer,
  secret?: string,
): PullRequestEvent | undefined {
  const { provider, event } = detectProvider(headers);
  if (secret !== undefined) verify(provider, headers, rawBody, secret);
  if (!isPullRequestWebhook(headers)) {
    throw new WebhookError(400, `${provider} event "${event}" is not a pull or merge request`);
  }
  const body = parseJson(headers, rawBody);
  if (provider === 'gitlab') {
    const attrs = obj(body.object_attributes);
    const action = str(attrs.action) ?? '';
    if (!PLANNED_ACTIONS.gitlab.includes(action)) return undefined;
    return pullRequestEvent(
      provider,
      action,
      {
        number: attrs.iid,
        baseBranch: str(attrs.target_branch),
        headBranch: str(attrs.source_branch),
        headCommit: str(obj(attrs.last_commit).id),
        repoUrls: urlsOf(obj(body.project), obj(body.repository)),
      },
      {
        incomplete: 'gitlab merge request payload without iid, target branch or last commit',
        noUrl: 'gitlab merge request payload names no project URL',
      },
    );
  }
  const action = str(body.action) ?? '';
  if (!PLANNED_ACTIONS[provider].includes(action)) return undefined;
  const pr = obj(body.pull_request);
  return pullRequestEvent(
    provider,
    action,
    {
      number: typeof body.number === 'number' ? body.number : pr.number,
      baseBranch: str(obj(pr.base).ref),
      headBranch: str(obj(pr.head).ref),
      headCommit: str(obj(pr.head).sha),
      repoUrls: urlsOf(obj(body.repository)),
    },
    {
      incomplete: `${provider} pull_request payload without number, base ref or head sha`,
      noUrl: `${provider} pull_request payload names no repository URL`,
    },
  );
}

/** The event from the fields a provider's payload gave, or a 400 naming what it lacks. */
function pullRequestEvent(
  provider: WebhookProvider,
  action: string,
  fields: {
    number: unknown;
    baseBranch: string | undefined;
    headBranch: string | undefined;
    headCommit: string | undefined;
    repoUrls: string[];
  },
  messages: { incomplete: string; noUrl: string },
): PullRequestEvent {
  const { number, baseBranch, headBranch, headCommit, repoUrls } = fields;
  if (typeof number !== 'number' || baseBranch === undefined || headCommit === undefined) {
    throw new WebhookError(400, messages.incomplete);
  }
  if (repoUrls.length === 0) throw new WebhookError(400, messages.noUrl);
  return {
    provider,
    repoUrls,
    number,
    action,
    baseBranch,
    ...(headBranch === undefined ? {} : { headBranch }),
    headCommit,
  };
}
