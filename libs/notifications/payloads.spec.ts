import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from './events.js';
import {
  NotApplicableError,
  type RenderTarget,
  cloudEvent,
  renderRequest,
  repositoryOf,
  slackMessage,
  teamsMessage,
} from './payloads.js';
import { verifySignature } from './signing.js';
import type { TargetType } from './targets.js';

const event: NotificationEvent = {
  id: 'rollout:r1:Succeeded:t',
  kind: 'RolloutSucceeded',
  severity: 'info',
  message: 'rollout of bundle shop-web to commit c0ffee: Succeeded',
  at: '2026-01-01T00:00:00.000Z',
  gitrepo: 'shop',
  bundle: 'shop-web',
  commit: 'c0ffee',
  rollout: 'r1',
};
const target = (type: TargetType, fields: Partial<RenderTarget> = {}): RenderTarget => ({
  name: 't',
  type,
  url: null,
  hmacKey: null,
  token: null,
  context: 'flotilla',
  ...fields,
});
const repo = { url: 'https://github.com/acme/shop.git', token: 'repo-token' };

describe('message formats', () => {
  it('Slack: text with kind and message, a colored attachment with the fields', () => {
    expect(slackMessage(event)).toEqual({
      username: 'Flotilla',
      text: '[info] RolloutSucceeded: rollout of bundle shop-web to commit c0ffee: Succeeded',
      attachments: [
        {
          color: '#2eb886',
          fallback: event.message,
          fields: [
            { title: 'GitRepo', value: 'shop', short: true },
            { title: 'Bundle', value: 'shop-web', short: true },
            { title: 'Commit', value: 'c0ffee', short: true },
            { title: 'Rollout', value: 'r1', short: true },
          ],
          ts: 1767225600,
        },
      ],
    });
  });

  it('Teams: a MessageCard with facts', () => {
    expect(teamsMessage({ ...event, severity: 'error' })).toMatchObject({
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      themeColor: 'A30200',
      sections: [{ activityTitle: 'Flotilla: RolloutSucceeded', facts: expect.any(Array) }],
    });
  });

  it('CloudEvents 1.0 structured: required attributes and the event as data', () => {
    expect(cloudEvent(event)).toMatchObject({
      specversion: '1.0',
      id: event.id,
      source: 'flotilla',
      type: 'io.flotilla.RolloutSucceeded',
      time: event.at,
      subject: 'shop-web',
      datacontenttype: 'application/json',
      data: { kind: 'RolloutSucceeded', bundle: 'shop-web' },
    });
  });
});

describe('renderRequest', () => {
  it.each([
    ['webhook', 'application/json'],
    ['cloudevents', 'application/cloudevents+json; charset=utf-8'],
    ['slack', 'application/json'],
    ['teams', 'application/json'],
  ] as const)('%s posts %s to its URL, signed when it has an HMAC key', (type, contentType) => {
    const req = renderRequest(
      target(type, { url: 'https://hooks.test/x', hmacKey: 'key-of-sixteen!!' }),
      event,
      null,
    );
    expect(req).toMatchObject({ method: 'POST', url: 'https://hooks.test/x' });
    expect(req.headers['content-type']).toBe(contentType);
    expect(
      verifySignature('key-of-sixteen!!', req.body, req.headers['x-flotilla-signature-256'] ?? ''),
    ).toBe(true);
  });

  it('an unsigned target sends no signature header', () => {
    const req = renderRequest(target('webhook', { url: 'https://hooks.test/x' }), event, null);
    expect(req.headers['x-flotilla-signature-256']).toBeUndefined();
  });

  it.each([
    [
      'GitHub: /repos/<owner>/<repo>/statuses/<sha>, bearer token, api.github.com for github.com',
      target('github'),
      'https://api.github.com/repos/acme/shop/statuses/c0ffee',
      { authorization: 'Bearer repo-token' },
      { state: 'success', context: 'flotilla/shop-web' },
    ],
    [
      'GitHub Enterprise: the API URL given, the target token first',
      target('github', { url: 'https://ghe.test/api/v3/', token: 'target-token' }),
      'https://ghe.test/api/v3/repos/acme/shop/statuses/c0ffee',
      { authorization: 'Bearer target-token' },
      { state: 'success', context: 'flotilla/shop-web' },
    ],
    [
      'GitLab: /api/v4/projects/<encoded path>/statuses/<sha>, PRIVATE-TOKEN, name',
      target('gitlab', { url: 'https://gitlab.test', context: 'deploy' }),
      'https://gitlab.test/api/v4/projects/acme%2Fshop/statuses/c0ffee',
      { 'private-token': 'repo-token' },
      { state: 'success', name: 'deploy/shop-web' },
    ],
    [
      'Gitea: /api/v1/repos/<owner>/<repo>/statuses/<sha>, token auth',
      target('gitea', { url: 'https://gitea.test' }),
      'https://gitea.test/api/v1/repos/acme/shop/statuses/c0ffee',
      { authorization: 'token repo-token' },
      { state: 'success', context: 'flotilla/shop-web' },
    ],
  ])('%s', (_name, t, url, headers, body) => {
    const req = renderRequest(t, event, repo);
    expect(req.url).toBe(url);
    expect(req.headers).toMatchObject(headers);
    expect(JSON.parse(req.body)).toMatchObject(body);
  });

  it.each([
    ['GitHub failure', 'github', 'failure'],
    ['GitLab failure is "failed"', 'gitlab', 'failed'],
    ['Gitea failure', 'gitea', 'failure'],
  ] as const)('%s', (_name, type, state) => {
    const req = renderRequest(
      target(type, { url: 'https://forge.test' }),
      { ...event, kind: 'RolloutRolledBack' },
      repo,
    );
    expect(JSON.parse(req.body)).toMatchObject({ state });
  });

  it('a forge gets no status for an event that sets none', () => {
    expect(() =>
      renderRequest(target('github'), { ...event, kind: 'ClusterOffline' }, repo),
    ).toThrow(NotApplicableError);
  });

  it('a forge without any token says so', () => {
    expect(() => renderRequest(target('github'), event, { ...repo, token: null })).toThrow(
      /no token/,
    );
  });
});

describe('repositoryOf', () => {
  it.each([
    ['https with .git', 'https://github.com/acme/shop.git', 'https://github.com', 'acme/shop'],
    ['scp-like ssh', 'git@gitlab.test:group/sub/app.git', 'https://gitlab.test', 'group/sub/app'],
    [
      'ssh:// (its port is SSH’s, not the API’s)',
      'ssh://git@gitea.test:2222/acme/shop',
      'https://gitea.test',
      'acme/shop',
    ],
    ['trailing slash', 'https://gitea.test/acme/shop/', 'https://gitea.test', 'acme/shop'],
  ])('%s', (_name, url, origin, path) => {
    expect(repositoryOf(url)).toEqual({ origin, path });
  });

  it.each([['file:///tmp/repo'], ['https://git.test/only-one']])('refuses %s', (url) => {
    expect(() => repositoryOf(url)).toThrow(NotApplicableError);
  });
});
