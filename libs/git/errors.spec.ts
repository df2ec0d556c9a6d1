import { describe, expect, it } from 'vitest';
import {
  GitAuthError,
  GitError,
  GitPathNotFoundError,
  GitRefNotFoundError,
  GitUnreachableError,
  excerpt,
  redactCredentials,
  redactUrl,
  toGitError,
} from './errors.js';

const httpError = (statusCode: number, statusMessage = '') =>
  Object.assign(new Error(`HTTP Error: ${statusCode} ${statusMessage}`), {
    code: 'HttpError',
    data: { statusCode, statusMessage, response: '' },
  });
const sysError = (code: string, message: string) => Object.assign(new Error(message), { code });
const action = 'fetching branch "main" from https://git.example.com/org/repo.git';

describe('toGitError', () => {
  it.each<[string, unknown, new (...args: never[]) => GitError, boolean, RegExp]>([
    [
      'HTTP 401 is an auth error',
      httpError(401, 'Unauthorized'),
      GitAuthError,
      false,
      /authentication failed \(HTTP 401 Unauthorized\)/,
    ],
    ['HTTP 403 is an auth error', httpError(403, 'Forbidden'), GitAuthError, false, /HTTP 403/],
    [
      'HTTP 500 is unreachable',
      httpError(500, 'Internal Server Error'),
      GitUnreachableError,
      true,
      /server error \(HTTP 500/,
    ],
    ['HTTP 503 is unreachable', httpError(503), GitUnreachableError, true, /HTTP 503/],
    [
      'HTTP 429 (rate limited) is unreachable',
      httpError(429),
      GitUnreachableError,
      true,
      /HTTP 429/,
    ],
    [
      'HTTP 404 is a missing repository, not retryable',
      httpError(404, 'Not Found'),
      GitError,
      false,
      /repository not found/,
    ],
    [
      'HTTP 400 is a plain error',
      httpError(400),
      GitError,
      false,
      /unexpected response \(HTTP 400/,
    ],
    [
      'a refused connection is unreachable',
      sysError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
      GitUnreachableError,
      true,
      /ECONNREFUSED/,
    ],
    [
      'an unknown host is unreachable',
      sysError('ENOTFOUND', 'getaddrinfo ENOTFOUND nope.invalid'),
      GitUnreachableError,
      true,
      /ENOTFOUND/,
    ],
    [
      'a DNS hiccup is unreachable',
      sysError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN git'),
      GitUnreachableError,
      true,
      /EAI_AGAIN/,
    ],
    [
      'an idle timeout is unreachable',
      sysError('ETIMEDOUT', 'no data for 60000 ms'),
      GitUnreachableError,
      true,
      /ETIMEDOUT/,
    ],
    [
      'a reset connection is unreachable',
      sysError('ECONNRESET', 'socket hang up'),
      GitUnreachableError,
      true,
      /ECONNRESET/,
    ],
    [
      'an empty server response is unreachable',
      sysError('EmptyServerResponseError', 'Empty response'),
      GitUnreachableError,
      true,
      /empty response/,
    ],
    [
      'a missing ref is GitRefNotFoundError',
      sysError('NotFoundError', 'Could not find refs/heads/x.'),
      GitRefNotFoundError,
      false,
      /not found/,
    ],
    [
      'a cancelled auth prompt is an auth error',
      sysError('UserCanceledError', 'cancelled'),
      GitAuthError,
      false,
      /authentication failed/,
    ],
    [
      'a non-git server is a plain error',
      sysError('SmartHttpError', 'bad'),
      GitError,
      false,
      /smart HTTP/,
    ],
    ['anything else is a plain error', new Error('boom'), GitError, false, /boom/],
    ['a thrown string is a plain error', 'weird', GitError, false, /weird/],
  ])('%s', (_behaviour, err, type, retryable, message) => {
    const mapped = toGitError(err, { action });
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.message).toMatch(message);
    expect(mapped.message.startsWith(action)).toBe(true);
  });

  it('passes GitErrors through unchanged', () => {
    const err = new GitRefNotFoundError('x');
    expect(toGitError(err, { action })).toBe(err);
  });

  it('scrubs URL credentials and literal secrets from the underlying message', () => {
    const mapped = toGitError(
      new Error('failed https://bot:hunter2@git.example.com/x and token tok-abc in a header'),
      { action, secrets: ['tok-abc', 'hunter2'] },
    );
    expect(mapped.message).not.toContain('hunter2');
    expect(mapped.message).not.toContain('tok-abc');
    expect(mapped.message).toContain('https://***@git.example.com/x');
  });
});

describe('error classes', () => {
  it.each([
    ['GitError', new GitError('m'), false],
    ['GitError', new GitError('m', { retryable: true }), true],
    ['GitAuthError', new GitAuthError('m'), false],
    ['GitRefNotFoundError', new GitRefNotFoundError('m'), false],
    ['GitUnreachableError', new GitUnreachableError('m'), true],
    ['GitPathNotFoundError', new GitPathNotFoundError('a/b', 'm'), false],
  ])('%s has its name and retryable=%s', (name, err, retryable) => {
    expect(err.name).toBe(name);
    expect(err.retryable).toBe(retryable);
    expect(err).toBeInstanceOf(GitError);
    expect(err).toBeInstanceOf(Error);
  });

  it('redacts credentials from any message given to a GitError', () => {
    expect(new GitAuthError('denied for https://u:p4ss@host/repo').message).toBe(
      'denied for https://***@host/repo',
    );
  });
});

describe('redaction', () => {
  it.each([
    ['user and password', 'https://user:pa55@host/repo.git', 'https://***@host/repo.git'],
    [
      'a token as user',
      'see http://ghp_123@github.com/o/r now',
      'see http://***@github.com/o/r now',
    ],
    ['several URLs', 'a https://a:b@x/ b https://c:d@y/', 'a https://***@x/ b https://***@y/'],
    ['no credentials', 'https://host/repo.git', 'https://host/repo.git'],
    [
      'an scp-like ssh URL is left alone (no secret in it)',
      'git@github.com:o/r.git',
      'git@github.com:o/r.git',
    ],
  ])('redactCredentials: %s', (_behaviour, input, expected) => {
    expect(redactCredentials(input)).toBe(expected);
  });

  it.each([
    ['drops user info', 'https://user:pa55@host/repo.git', 'https://host/repo.git'],
    ['keeps a clean URL', 'https://host/repo.git', 'https://host/repo.git'],
    ['redacts an unparsable URL as text', 'https://u:p@ bad', 'https://***@ bad'],
  ])('redactUrl %s', (_behaviour, input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('remote text in errors is an excerpt', () => {
  it.each<[string, unknown, (message: string) => void]>([
    [
      'a status line of 10,000 characters is cut to 80',
      httpError(502, 'x'.repeat(10_000)),
      (m) => {
        expect(m).toMatch(/server error \(HTTP 502 x{80}… \(9920 more characters\)\)$/);
        expect(m.length).toBeLessThan(300);
      },
    ],
    [
      'a remote error line of 1 MiB is cut to 200 characters',
      new Error(`Remote error: ${'y'.repeat(1024 * 1024)}`),
      (m) => expect(m.length).toBeLessThan(action.length + 260),
    ],
    [
      'control characters and ANSI escapes from the remote become spaces',
      new Error('Remote error: \u001b[31mred\u001b[0m\rbell\u0007'),
      (m) => expect(m).toBe(`${action}: Remote error: [31mred [0m bell`),
    ],
    [
      'only the first line of a many-line remote message is kept',
      new Error('Remote error: first\nsecond\nthird'),
      (m) => expect(m).toBe(`${action}: Remote error: first`),
    ],
  ])('%s', (_behaviour, err, check) => {
    check(toGitError(err, { action }).message);
  });

  it.each<[string, string, number, string]>([
    ['short text is kept', 'abc', 10, 'abc'],
    ['runs of white space become one space', 'a \t\n b', 10, 'a b'],
    ['text past the limit says how much was cut', 'abcdefghij', 4, 'abcd… (6 more characters)'],
  ])('excerpt: %s', (_behaviour, text, max, expected) => {
    expect(excerpt(text, max)).toBe(expected);
  });
});

it('redactCredentials takes one pass over a megabyte of letters (a remote can send that)', () => {
  const text = `${'a'.repeat(1024 * 1024)} https://user:pw@host/x`;
  expect(redactCredentials(text)).toBe(`${'a'.repeat(1024 * 1024)} https://***@host/x`);
});
