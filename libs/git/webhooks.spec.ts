import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isPullRequestWebhook,
  normalizeRepoUrl,
  parsePullRequestWebhook,
  parsePushWebhook,
  webhookReplayKeys,
  WebhookError,
  type PushEvent,
} from './webhooks.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const ZERO = '0000000000000000000000000000000000000000';
const SECRET = 'It’s a Secret to Everybody';

const githubPush = {
  ref: 'refs/heads/main',
  before: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
  after: SHA,
  created: false,
  deleted: false,
  forced: false,
  repository: {
    id: 1296269,
    name: 'fleet',
    full_name: 'Acme/fleet',
    html_url: 'https://github.com/Acme/fleet',
    url: 'https://api.github.com/repos/Acme/fleet',
    git_url: 'git://github.com/Acme/fleet.git',
    ssh_url: 'git@github.com:Acme/fleet.git',
    clone_url: 'https://github.com/Acme/fleet.git',
    default_branch: 'main',
  },
  pusher: { name: 'octocat', email: 'octocat@github.com' },
  head_commit: { id: SHA, message: 'scale web' },
};

const gitlabPush = {
  object_kind: 'push',
  event_name: 'push',
  before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
  after: SHA,
  ref: 'refs/heads/release/1.x',
  checkout_sha: SHA,
  user_username: 'jsmith',
  project_id: 15,
  project: {
    id: 15,
    name: 'Fleet',
    web_url: 'https://gitlab.example.com/platform/Fleet',
    git_ssh_url: 'git@gitlab.example.com:platform/Fleet.git',
    git_http_url: 'https://gitlab.example.com/platform/Fleet.git',
    path_with_namespace: 'platform/Fleet',
    default_branch: 'main',
  },
  repository: {
    name: 'Fleet',
    url: 'git@gitlab.example.com:platform/Fleet.git',
    homepage: 'https://gitlab.example.com/platform/Fleet',
    git_http_url: 'https://gitlab.example.com/platform/Fleet.git',
    git_ssh_url: 'git@gitlab.example.com:platform/Fleet.git',
  },
  commits: [{ id: SHA, message: 'bump chart' }],
  total_commits_count: 1,
};

const giteaPush = {
  ref: 'refs/heads/main',
  before: '28e1879d029cb852e4844d9c718537df08844e03',
  after: SHA,
  compare_url: 'https://gitea.example.com/ops/fleet/compare/28e1879d...6113728f',
  commits: [{ id: SHA, message: 'add bundle' }],
  repository: {
    id: 140,
    name: 'fleet',
    full_name: 'ops/fleet',
    html_url: 'https://gitea.example.com/ops/fleet',
    ssh_url: 'ssh://git@gitea.example.com:2222/ops/fleet.git',
    clone_url: 'https://gitea.example.com/ops/fleet.git',
    default_branch: 'main',
  },
  pusher: { login: 'ops' },
};

const body = (payload: unknown): Buffer => Buffer.from(JSON.stringify(payload));
const hmac = (raw: Buffer, secret = SECRET): string =>
  createHmac('sha256', secret).update(raw).digest('hex');

// Gitea also sends X-GitHub-Event and X-Gogs-Event, like the real server does.
const giteaHeaders = (raw: Buffer): Record<string, string> => ({
  'x-gitea-event': 'push',
  'x-gogs-event': 'push',
  'x-github-event': 'push',
  'x-gitea-signature': hmac(raw),
});

describe('parsePushWebhook: pushes', () => {
  it.each<[string, Record<string, string | string[]>, Buffer, PushEvent]>([
    [
      'a GitHub branch push names html, clone, ssh and git URLs but not the API URL',
      { 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': `sha256=${hmac(body(githubPush))}` },
      body(githubPush),
      {
        provider: 'github',
        repoUrls: [
          'https://github.com/Acme/fleet.git',
          'https://github.com/Acme/fleet',
          'git@github.com:Acme/fleet.git',
          'git://github.com/Acme/fleet.git',
        ],
        branch: 'main',
        commit: SHA,
      },
    ],
    [
      'a GitLab push with a slash in the branch names project and repository URLs once each',
      { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET },
      body(gitlabPush),
      {
        provider: 'gitlab',
        repoUrls: [
          'https://gitlab.example.com/platform/Fleet.git',
          'git@gitlab.example.com:platform/Fleet.git',
          'https://gitlab.example.com/platform/Fleet',
        ],
        branch: 'release/1.x',
        commit: SHA,
      },
    ],
    [
      'a Gitea push is recognised although it also sends X-GitHub-Event',
      giteaHeaders(body(giteaPush)),
      body(giteaPush),
      {
        provider: 'gitea',
        repoUrls: [
          'https://gitea.example.com/ops/fleet.git',
          'https://gitea.example.com/ops/fleet',
          'ssh://git@gitea.example.com:2222/ops/fleet.git',
        ],
        branch: 'main',
        commit: SHA,
      },
    ],
    [
      'a GitHub branch deletion has no commit and says deleted',
      {
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${hmac(body({ ...githubPush, after: ZERO, deleted: true }))}`,
      },
      body({ ...githubPush, after: ZERO, deleted: true }),
      { provider: 'github', repoUrls: expect.any(Array), branch: 'main', deleted: true },
    ],
    [
      'a GitLab tag push names the tag, not a branch',
      { 'x-gitlab-event': 'Tag Push Hook', 'x-gitlab-token': SECRET },
      body({ ...gitlabPush, object_kind: 'tag_push', ref: 'refs/tags/v1.2.0' }),
      { provider: 'gitlab', repoUrls: expect.any(Array), tag: 'v1.2.0', commit: SHA },
    ],
    [
      'a GitHub form-encoded delivery is decoded (signature over the raw form body)',
      {
        'x-github-event': 'push',
        'content-type': 'application/x-www-form-urlencoded',
        'x-hub-signature-256': `sha256=${hmac(
          Buffer.from(`payload=${encodeURIComponent(JSON.stringify(githubPush))}`),
        )}`,
      },
      Buffer.from(`payload=${encodeURIComponent(JSON.stringify(githubPush))}`),
      { provider: 'github', repoUrls: expect.any(Array), branch: 'main', commit: SHA },
    ],
    [
      'header arrays take their first value',
      { 'x-github-event': ['push'], 'x-hub-signature-256': [`sha256=${hmac(body(githubPush))}`] },
      body(githubPush),
      { provider: 'github', repoUrls: expect.any(Array), branch: 'main', commit: SHA },
    ],
  ])('%s', (_behaviour, headers, raw, expected) => {
    expect(parsePushWebhook(headers, raw, SECRET)).toEqual(expected);
  });

  it('answers a GitHub ping with ping: true and no repositories to poll', () => {
    const raw = body({
      zen: 'Keep it logically awesome.',
      hook_id: 1,
      repository: githubPush.repository,
    });
    expect(
      parsePushWebhook(
        { 'x-github-event': 'ping', 'x-hub-signature-256': `sha256=${hmac(raw)}` },
        raw,
        SECRET,
      ),
    ).toEqual({ provider: 'github', repoUrls: [], ping: true });
  });

  it.each([
    ['GitHub', { 'x-github-event': 'push' }, body(githubPush)],
    ['GitLab', { 'x-gitlab-event': 'Push Hook' }, body(gitlabPush)],
    ['Gitea', { 'x-gitea-event': 'push' }, body(giteaPush)],
  ])('without a secret, a %s push is accepted unsigned', (_provider, headers, raw) => {
    expect(parsePushWebhook(headers, raw).commit).toBe(SHA);
  });
});

describe('parsePushWebhook: signatures', () => {
  const gh = body(githubPush);
  const gt = body(giteaPush);
  it.each<[string, Record<string, string>, Buffer, RegExp]>([
    [
      'a GitHub push without a signature is rejected',
      { 'x-github-event': 'push' },
      gh,
      /missing X-Hub-Signature-256/,
    ],
    [
      'a GitHub signature made with another secret is rejected',
      { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(gh, 'other')}` },
      gh,
      /does not match/,
    ],
    [
      'a GitHub signature over another body is rejected',
      { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(gh)}` },
      body({ ...githubPush, after: ZERO }),
      /does not match/,
    ],
    [
      'a GitHub SHA-1 style signature is rejected',
      { 'x-github-event': 'push', 'x-hub-signature-256': `sha1=${hmac(gh)}` },
      gh,
      /does not match/,
    ],
    [
      'a truncated GitHub signature is rejected',
      { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(gh).slice(0, 40)}` },
      gh,
      /does not match/,
    ],
    [
      'a non-hex GitHub signature is rejected',
      { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=zz' },
      gh,
      /does not match/,
    ],
    [
      'a GitLab push without a token is rejected',
      { 'x-gitlab-event': 'Push Hook' },
      body(gitlabPush),
      /missing X-Gitlab-Token/,
    ],
    [
      'a wrong GitLab token is rejected',
      { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': `${SECRET}x` },
      body(gitlabPush),
      /X-Gitlab-Token is wrong/,
    ],
    [
      'a Gitea push without a signature is rejected',
      { 'x-gitea-event': 'push' },
      gt,
      /missing X-Gitea-Signature/,
    ],
    [
      'a Gitea signature with another secret is rejected',
      { 'x-gitea-event': 'push', 'x-gitea-signature': hmac(gt, 'other') },
      gt,
      /X-Gitea-Signature does not match/,
    ],
    [
      'a Gitea push signed only GitHub-style is rejected',
      { 'x-gitea-event': 'push', 'x-hub-signature-256': `sha256=${hmac(gt)}` },
      gt,
      /missing X-Gitea-Signature/,
    ],
    [
      'a GitHub ping with a bad signature is rejected',
      { 'x-github-event': 'ping', 'x-hub-signature-256': 'sha256=00' },
      body({ zen: 'z' }),
      /does not match/,
    ],
  ])('%s (401)', (_behaviour, headers, raw, message) => {
    const call = () => parsePushWebhook(headers, raw, SECRET);
    expect(call).toThrow(WebhookError);
    expect(call).toThrow(message);
    try {
      call();
    } catch (err) {
      expect((err as WebhookError).status).toBe(401);
      expect((err as WebhookError).name).toBe('WebhookError');
    }
  });

  it('checks the signature before reading the body, so junk with a bad signature is a 401', () => {
    expect(() =>
      parsePushWebhook(
        { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' },
        Buffer.from('{'),
        SECRET,
      ),
    ).toThrow(expect.objectContaining({ status: 401 }));
  });
});

describe('parsePushWebhook: malformed and unsupported deliveries', () => {
  it.each<[string, Record<string, string>, Buffer, RegExp]>([
    [
      'no provider header',
      { 'content-type': 'application/json' },
      body(githubPush),
      /unknown webhook provider/,
    ],
    [
      'truncated JSON',
      { 'x-github-event': 'push' },
      Buffer.from('{"ref": "refs/heads/ma'),
      /not valid JSON/,
    ],
    ['an empty body', { 'x-gitea-event': 'push' }, Buffer.alloc(0), /not valid JSON/],
    ['a JSON array', { 'x-github-event': 'push' }, Buffer.from('[1]'), /not a JSON object/],
    [
      'a GitHub pull_request event',
      { 'x-github-event': 'pull_request' },
      body(githubPush),
      /unsupported github event "pull_request"/,
    ],
    [
      'a GitLab merge request event',
      { 'x-gitlab-event': 'Merge Request Hook' },
      body(gitlabPush),
      /unsupported gitlab event "Merge Request Hook"/,
    ],
    [
      'a Gitea issues event',
      { 'x-gitea-event': 'issues' },
      body(giteaPush),
      /unsupported gitea event "issues"/,
    ],
    [
      'a GitLab push hook whose object_kind is not a push',
      { 'x-gitlab-event': 'Push Hook' },
      body({ ...gitlabPush, object_kind: 'note' }),
      /object_kind "note"/,
    ],
    [
      'a push without a ref',
      { 'x-github-event': 'push' },
      body({ ...githubPush, ref: undefined }),
      /without a ref/,
    ],
    [
      'a push without repository URLs',
      { 'x-github-event': 'push' },
      body({ ...githubPush, repository: { name: 'fleet' } }),
      /names no repository URL/,
    ],
    [
      'a form-encoded delivery without a payload field',
      { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded' },
      Buffer.from('other=1'),
      /without a payload field/,
    ],
  ])('rejects %s (400)', (_behaviour, headers, raw, message) => {
    let caught: unknown;
    try {
      parsePushWebhook(headers, raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WebhookError);
    expect((caught as WebhookError).status).toBe(400);
    expect((caught as WebhookError).message).toMatch(message);
  });
});

describe('normalizeRepoUrl', () => {
  it.each([
    ['https with .git and upper case on github.com', 'https://github.com/Org/Repo.git'],
    ['https without .git', 'https://github.com/org/repo'],
    ['scp-like ssh', 'git@github.com:org/repo.git'],
    ['ssh:// URL', 'ssh://git@github.com/org/repo'],
    ['ssh:// URL with a port', 'ssh://git@github.com:22/org/repo.git'],
    ['git:// URL', 'git://github.com/org/repo.git'],
    ['a trailing slash', 'https://github.com/org/repo/'],
    ['upper-case host', 'https://GitHub.COM/org/repo'],
    ['user info', 'https://x-access-token:abc@github.com/org/repo.git'],
    ['surrounding whitespace', '  https://github.com/org/repo.git\n'],
    ['http and an explicit port', 'http://github.com:443/org/repo'],
    ['a scheme-less host/path', 'github.com/org/repo'],
  ])('%s normalizes to github.com/org/repo', (_behaviour, url) => {
    expect(normalizeRepoUrl(url)).toBe('github.com/org/repo');
  });

  it.each([
    [
      'gitlab.com subgroups are case-insensitive',
      'git@gitlab.com:Group/Sub/Repo.git',
      'gitlab.com/group/sub/repo',
    ],
    [
      'a self-hosted host keeps the path case',
      'https://git.example.com/Platform/Fleet.git',
      'git.example.com/Platform/Fleet',
    ],
    [
      'a self-hosted ssh URL on another port matches its https form',
      'ssh://git@Gitea.Example.com:2222/ops/fleet.git',
      'gitea.example.com/ops/fleet',
    ],
    ['a local path is kept', '/srv/git/fleet.git/', '/srv/git/fleet.git'],
    ['garbage is returned trimmed', ' not a url ', 'not a url'],
  ])('%s', (_behaviour, url, expected) => {
    expect(normalizeRepoUrl(url)).toBe(expected);
  });

  it.each([
    ['different owners differ', 'https://github.com/a/repo', 'https://github.com/b/repo'],
    ['different hosts differ', 'https://github.com/org/repo', 'https://gitlab.com/org/repo'],
    [
      'case differs on a self-hosted server',
      'https://git.example.com/Org/Repo',
      'https://git.example.com/org/repo',
    ],
  ])('%s', (_behaviour, a, b) => {
    expect(normalizeRepoUrl(a)).not.toBe(normalizeRepoUrl(b));
  });

  it('matches every URL a GitHub push names with the registered clone URL', () => {
    const event = parsePushWebhook({ 'x-github-event': 'push' }, body(githubPush));
    const registered = normalizeRepoUrl('https://github.com/acme/fleet');
    expect(event.repoUrls.map(normalizeRepoUrl).every((u) => u === registered)).toBe(true);
  });
});

describe('webhookReplayKeys', () => {
  const body = Buffer.from('{"ref":"refs/heads/main"}');
  const digest = `body:${createHash('sha256').update(body).digest('hex')}`;
  it.each<[string, Record<string, string>, string[]]>([
    [
      'GitHub: the delivery GUID and the body',
      { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' },
      ['delivery:github:72d3162e-cc78-11e3-81ab-4c9367dc0958', digest],
    ],
    [
      'GitLab: the idempotency key and the event UUID',
      { 'X-Gitlab-Event': 'Push Hook', 'Idempotency-Key': 'k-1', 'X-Gitlab-Event-UUID': 'u-1' },
      ['delivery:gitlab:k-1', 'delivery:gitlab:u-1', digest],
    ],
    [
      'Gitea (which also sends X-GitHub-Delivery) by its own delivery id',
      { 'X-Gitea-Event': 'push', 'X-Gitea-Delivery': 'g-1', 'X-GitHub-Delivery': 'g-1' },
      ['delivery:gitea:g-1', digest],
    ],
    ['no delivery id: the body alone', { 'X-GitHub-Event': 'push' }, [digest]],
    [
      'a delivery id is cut to 200 characters',
      { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'x'.repeat(500) },
      [`delivery:github:${'x'.repeat(200)}`, digest],
    ],
  ])('%s', (_behaviour, headers, keys) => {
    expect(webhookReplayKeys(headers, body)).toEqual(keys);
  });

  it('another body under the same delivery id shares the id key only', () => {
    const headers = { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'd-1' };
    const a = webhookReplayKeys(headers, body);
    const b = webhookReplayKeys(headers, Buffer.from('{"ref":"refs/heads/other"}'));
    expect(a.filter((k) => b.includes(k))).toEqual(['delivery:github:d-1']);
  });
});

describe('parsePullRequestWebhook', () => {
  const HEAD = 'a'.repeat(40);
  const githubPr = (action: string) => ({
    action,
    number: 42,
    pull_request: {
      number: 42,
      head: { ref: 'feature', sha: HEAD },
      base: { ref: 'main', sha: SHA },
    },
    repository: githubPush.repository,
  });
  const gitlabMr = (action: string) => ({
    object_kind: 'merge_request',
    project: gitlabPush.project,
    object_attributes: {
      iid: 7,
      action,
      source_branch: 'feature',
      target_branch: 'release/1.x',
      last_commit: { id: HEAD },
    },
  });
  const giteaPr = (action: string) => ({ ...githubPr(action), repository: giteaPush.repository });

  it.each([
    {
      name: 'a GitHub pull request opened is planned at its head commit',
      headers: { 'x-github-event': 'pull_request' },
      payload: githubPr('opened'),
      expected: {
        provider: 'github',
        number: 42,
        action: 'opened',
        baseBranch: 'main',
        headBranch: 'feature',
        headCommit: HEAD,
      },
    },
    {
      name: 'new commits on a GitHub pull request (synchronize) are planned',
      headers: { 'x-github-event': 'pull_request' },
      payload: githubPr('synchronize'),
      expected: { action: 'synchronize', headCommit: HEAD },
    },
    {
      name: 'a GitLab merge request update is planned against its target branch',
      headers: { 'x-gitlab-event': 'Merge Request Hook' },
      payload: gitlabMr('update'),
      expected: {
        provider: 'gitlab',
        number: 7,
        baseBranch: 'release/1.x',
        headBranch: 'feature',
        headCommit: HEAD,
      },
    },
    {
      name: 'a Gitea pull request synchronized is planned (Gitea also sends X-GitHub-Event)',
      headers: { 'x-gitea-event': 'pull_request', 'x-github-event': 'pull_request' },
      payload: giteaPr('synchronized'),
      expected: { provider: 'gitea', number: 42, headCommit: HEAD },
    },
    {
      name: 'a closed GitHub pull request brings nothing to plan',
      headers: { 'x-github-event': 'pull_request' },
      payload: githubPr('closed'),
      expected: undefined,
    },
    {
      name: 'a merged GitLab merge request brings nothing to plan',
      headers: { 'x-gitlab-event': 'Merge Request Hook' },
      payload: gitlabMr('merge'),
      expected: undefined,
    },
  ])('$name', ({ headers, payload, expected }) => {
    const event = parsePullRequestWebhook(headers, body(payload));
    if (expected === undefined) expect(event).toBeUndefined();
    else expect(event).toMatchObject(expected);
    if (event !== undefined) expect(event.repoUrls.length).toBeGreaterThan(0);
  });

  it.each([
    {
      name: 'a push event is not a pull request',
      headers: { 'x-github-event': 'push' },
      payload: githubPush,
      status: 400,
    },
    {
      name: 'a pull request without a head sha',
      headers: { 'x-github-event': 'pull_request' },
      payload: { ...githubPr('opened'), pull_request: { number: 42, base: { ref: 'main' } } },
      status: 400,
    },
  ])('refused: $name', ({ headers, payload, status }) => {
    expect(() => parsePullRequestWebhook(headers, body(payload))).toThrow(
      expect.objectContaining({ status }),
    );
  });

  it('a signed GitHub pull request is verified like a push', () => {
    const raw = body(githubPr('opened'));
    const signature = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
    const headers = { 'x-github-event': 'pull_request', 'x-hub-signature-256': signature };
    expect(parsePullRequestWebhook(headers, raw, SECRET)?.headCommit).toBe(HEAD);
    expect(() => parsePullRequestWebhook(headers, raw, 'other')).toThrow(
      expect.objectContaining({ status: 401 }),
    );
  });

  it.each([
    [{ 'x-github-event': 'pull_request' }, true],
    [{ 'x-gitlab-event': 'Merge Request Hook' }, true],
    [{ 'x-gitea-event': 'pull_request' }, true],
    [{ 'x-github-event': 'push' }, false],
    [{}, false],
  ])('isPullRequestWebhook(%o) is %s', (headers, expected) => {
    expect(isPullRequestWebhook(headers)).toBe(expected);
  });
});
