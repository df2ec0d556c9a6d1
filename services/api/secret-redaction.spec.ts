import { describe, expect, it } from 'vitest';
import { GitRepoBody } from './dto.js';
import { toGitRepoSpec } from './gitrepos.service.js';
import { classifyError } from '../shared/errors.filter.js';

const secret = 'hunter2-s3cret-value';

/** The error `run` throws, as the API would answer it. */
function answer(run: () => unknown): { status: number; message: string } | undefined {
  try {
    run();
  } catch (err) {
    return classifyError(err);
  }
  throw new Error('expected an error');
}

const parseError = (text: string) => {
  try {
    JSON.parse(text);
  } catch (err) {
    return Object.assign(err as Error, { type: 'entity.parse.failed', status: 400 });
  }
  throw new Error('expected invalid JSON');
};

const gitrepo = (body: Record<string, unknown>) =>
  toGitRepoSpec(GitRepoBody.parse({ name: 'demo', url: 'https://git.example.com/x.git', ...body }));

describe('errors never echo secrets from the request', () => {
  it.each<[string, () => unknown, RegExp]>([
    [
      'a body that is only a secret (V8 quotes it)',
      () => {
        throw parseError(secret);
      },
      /^malformed JSON body$/,
    ],
    [
      'a broken body with a password in it',
      () => {
        throw parseError(`{"auth": {"username": "u", "password": "${secret}"} x`);
      },
      /^malformed JSON body at position \d+$/,
    ],
    ['auth of the wrong shape', () => gitrepo({ auth: { password: secret } }), /^auth: /],
    [
      'auth with an unknown field',
      () => gitrepo({ auth: { token: 'x', extra: secret } }),
      /^auth: /,
    ],
    [
      'a webhook secret of the wrong type',
      () => gitrepo({ webhookSecret: 12345678 }),
      /^webhookSecret: /,
    ],
    [
      'a URL with credentials',
      () => gitrepo({ url: `https://fleet:${secret}@git.example.com/x.git` }),
      /credentials in "auth", not in the URL/,
    ],
    [
      'a malformed URL with credentials',
      () => gitrepo({ url: `https//fleet:${secret}@git example com` }),
      /^url is not a URL/,
    ],
    [
      'auth on a file:// URL',
      () =>
        toGitRepoSpec(
          GitRepoBody.parse({ name: 'demo', url: 'file:///srv/x.git', auth: { token: secret } }),
          '/',
        ),
      /auth is only for http\(s\) URLs/,
    ],
    [
      'Helm credentials with a password but no username',
      () =>
        gitrepo({ helmRepoCredentials: { 'https://charts.example.com': { password: secret } } }),
      /^helmRepoCredentials\["https:\/\/charts.example.com"\]: username and password go together$/,
    ],
    [
      'Helm credentials with an unknown field',
      () =>
        gitrepo({
          helmRepoCredentials: { 'https://c.example.com': { token: 'x', extra: secret } },
        }),
      /^helmRepoCredentials/,
    ],
    [
      'Helm credentials keyed by a URL with user info',
      () =>
        gitrepo({ helmRepoCredentials: { [`https://u:${secret}@c.example.com`]: { token: 'x' } } }),
      /put credentials in the value, not in the URL/,
    ],
  ])('%s: 400 without the secret', (_case, run, message) => {
    const result = answer(run);
    expect(result?.status).toBe(400);
    expect(result?.message).toMatch(message);
    expect(result?.message).not.toContain(secret);
  });
});
