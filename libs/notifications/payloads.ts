import { type NotificationEvent, Severity, commitStateOf } from './events.js';
import { SIGNATURE_HEADER, signBody } from './signing.js';
import { TargetType } from './targets.js';

/** One HTTP request to make. */
export interface OutgoingRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What a target needs to render a request (secrets revealed). */
export interface RenderTarget {
  name: string;
  type: TargetType;
  url: string | null;
  hmacKey: string | null;
  token: string | null;
  context: string;
}

/** The GitRepo of an event, for commit statuses. */
export interface RenderGitRepo {
  url: string;
  /** A token from the GitRepo's credentials (a token, or the password of user/password). */
  token: string | null;
}

/** Why an event is not sent to a target (not an error: nothing to do). */
export class NotApplicableError extends Error {
  override name = 'NotApplicableError';
}

const userAgent = 'flotilla-notifications';

/** The event as the generic webhook sends it. */
export function genericPayload(e: NotificationEvent): Record<string, unknown> {
  return {
    id: e.id,
    kind: e.kind,
    severity: e.severity,
    message: e.message,
    at: e.at,
    ...(e.gitrepo === undefined ? {} : { gitrepo: e.gitrepo }),
    ...(e.bundle === undefined ? {} : { bundle: e.bundle }),
    ...(e.cluster === undefined ? {} : { cluster: e.cluster }),
    ...(e.commit === undefined ? {} : { commit: e.commit }),
    ...(e.rollout === undefined ? {} : { rollout: e.rollout }),
  };
}

/** The event as a CloudEvents 1.0 structured-mode JSON document. */
export function cloudEvent(e: NotificationEvent): Record<string, unknown> {
  const subject = e.bundle ?? e.cluster ?? e.gitrepo;
  return {
    specversion: '1.0',
    id: e.id,
    source: 'flotilla',
    type: `io.flotilla.${e.kind}`,
    time: e.at,
    ...(subject === undefined ? {} : { subject }),
    datacontenttype: 'application/json',
    data: genericPayload(e),
  };
}

const slackColors: Record<Severity, string> = {
  info: '#2eb886',
  warning: '#daa038',
  error: '#a30200',
};
const teamsColors: Record<Severity, string> = {
  info: '2EB886',
  warning: 'DAA038',
  error: 'A30200',
};

function facts(e: NotificationEvent): { title: string; value: string }[] {
  const out: { title: string; value: string }[] = [];
  if (e.gitrepo !== undefined) out.push({ title: 'GitRepo', value: e.gitrepo });
  if (e.bundle !== undefined) out.push({ title: 'Bundle', value: e.bundle });
  if (e.cluster !== undefined) out.push({ title: 'Cluster', value: e.cluster });
  if (e.commit !== undefined) out.push({ title: 'Commit', value: e.commit.slice(0, 12) });
  if (e.rollout !== undefined) out.push({ title: 'Rollout', value: e.rollout });
  return out;
}

/** A Slack incoming-webhook message: text plus a colored attachment with the event's fields. */
export function slackMessage(e: NotificationEvent): Record<string, unknown> {
  return {
    username: 'Flotilla',
    text: `[${e.severity}] ${e.kind}: ${e.message}`,
    attachments: [
      {
        color: slackColors[e.severity],
        fallback: e.message,
        fields: facts(e).map((f) => ({ title: f.title, value: f.value, short: true })),
        ts: Math.floor(Date.parse(e.at) / 1000),
      },
    ],
  };
}

/** A Microsoft Teams incoming-webhook MessageCard. */
export function teamsMessage(e: NotificationEvent): Record<string, unknown> {
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    themeColor: teamsColors[e.severity],
    summary: `${e.kind}: ${e.message}`,
    sections: [
      {
        activityTitle: `Flotilla: ${e.kind}`,
        activitySubtitle: e.message,
        facts: facts(e).map((f) => ({ name: f.title, value: f.value })),
        markdown: false,
      },
    ],
  };
}

/**
 * `owner/repo` (or a GitLab `group/subgroup/project`) and origin of a Git URL: https, ssh://
 * or scp-like `git@host:owner/repo.git`.
 */
export function repositoryOf(gitUrl: string): { origin: string; path: string } {
  const scp = /^[\w.-]+@([^:/]+):(.+)$/.exec(gitUrl);
  let host: string;
  let path: string;
  let protocol = 'https:';
  if (scp?.[1] !== undefined && scp[2] !== undefined) {
    host = scp[1];
    path = scp[2];
  } else {
    let url: URL;
    try {
      url = new URL(gitUrl);
    } catch {
      throw new NotApplicableError(`GitRepo URL "${gitUrl}" names no forge repository`);
    }
    // An ssh:// port is the SSH server's, not the web API's.
    host = url.protocol === 'ssh:' ? url.hostname : url.host;
    path = url.pathname;
    if (url.protocol === 'http:') protocol = 'http:';
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ssh:') {
      throw new NotApplicableError(`GitRepo URL "${gitUrl}" names no forge repository`);
    }
  }
  path = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  if (path.split('/').length < 2) {
    throw new NotApplicableError(`GitRepo URL "${gitUrl}" names no owner/repository`);
  }
  return { origin: `${protocol}//${host}`, path };
}

/** The API base of a forge target: its url, or derived from the GitRepo's host. */
function apiBase(type: TargetType, targetUrl: string | null, origin: string): string {
  if (targetUrl !== null) return targetUrl.replace(/\/+$/, '');
  if (type === TargetType.GitHub) {
    return origin === 'https://github.com' ? 'https://api.github.com' : `${origin}/api/v3`;
  }
  return origin;
}

/** The commit status context of an event: `<prefix>/<bundle>` or `<prefix>/<gitrepo>`. */
export function statusContext(prefix: string, e: NotificationEvent): string {
  return `${prefix}/${e.bundle ?? e.gitrepo ?? 'fleet'}`;
}

/** The commit status request for a forge, or NotApplicableError when the event sets none. */
export function commitStatusRequest(
  target: RenderTarget,
  e: NotificationEvent,
  gitrepo: RenderGitRepo | null,
): OutgoingRequest {
  const state = commitStateOf(e);
  if (state === null) throw new NotApplicableError(`${e.kind} sets no commit status`);
  if (e.commit === undefined) throw new NotApplicableError(`${e.kind} names no commit`);
  if (gitrepo === null) throw new NotApplicableError(`${e.kind} names no GitRepo`);
  const token = target.token ?? gitrepo.token;
  if (token === null) {
    throw new Error(
      `target ${target.name}: no token (the GitRepo has no token or password credentials, and the target none)`,
    );
  }
  const repo = repositoryOf(gitrepo.url);
  const base = apiBase(target.type, target.url, repo.origin);
  const context = statusContext(target.context, e);
  const description = e.message.slice(0, 140);
  const sha = encodeURIComponent(e.commit);
  const json = { 'content-type': 'application/json', 'user-agent': userAgent };
  switch (target.type) {
    case TargetType.GitHub:
      return {
        method: 'POST',
        url: `${base}/repos/${repo.path}/statuses/${sha}`,
        headers: {
          ...json,
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ state, context, description }),
      };
    case TargetType.GitLab:
      return {
        method: 'POST',
        url: `${base}/api/v4/projects/${encodeURIComponent(repo.path)}/statuses/${sha}`,
        headers: { ...json, 'private-token': token },
        body: JSON.stringify({
          state: state === 'failure' ? 'failed' : state,
          name: context,
          description,
        }),
      };
    case TargetType.Gitea:
      return {
        method: 'POST',
        url: `${base}/api/v1/repos/${repo.path}/statuses/${sha}`,
        headers: { ...json, authorization: `token ${token}` },
        body: JSON.stringify({ state, context, description }),
      };
    case TargetType.Webhook:
    case TargetType.CloudEvents:
    case TargetType.Slack:
    case TargetType.Teams:
      throw new Error(`target ${target.name} is not a forge`);
  }
}

/** The request that delivers `e` to `target`. */
export function renderRequest(
  target: RenderTarget,
  e: NotificationEvent,
  gitrepo: RenderGitRepo | null,
): OutgoingRequest {
  const post = (contentType: string, payload: unknown): OutgoingRequest => {
    if (target.url === null) throw new Error(`target ${target.name} has no url`);
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': contentType,
      'user-agent': userAgent,
    };
    if (target.hmacKey !== null)
      headers[SIGNATURE_HEADER.toLowerCase()] = signBody(target.hmacKey, body);
    return { method: 'POST', url: target.url, headers, body };
  };
  switch (target.type) {
    case TargetType.Webhook:
      return post('application/json', genericPayload(e));
    case TargetType.CloudEvents:
      return post('application/cloudevents+json; charset=utf-8', cloudEvent(e));
    case TargetType.Slack:
      return post('application/json', slackMessage(e));
    case TargetType.Teams:
      return post('application/json', teamsMessage(e));
    case TargetType.GitHub:
    case TargetType.GitLab:
    case TargetType.Gitea:
      return commitStatusRequest(target, e, gitrepo);
  }
}
