import { AuthorizationError, errors } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { isAuthError } from './agent.js';

describe('isAuthError: did NATS refuse the credentials?', () => {
  it.each<[string, unknown, boolean]>([
    [
      'the client error for a refused user',
      new AuthorizationError('authorization violation'),
      true,
    ],
    [
      'an expired user',
      new errors.UserAuthenticationExpiredError('user authentication expired'),
      true,
    ],
    ['the server message, as text', new Error("'Authorization Violation'"), true],
    ['a revoked user', new Error("'User Authentication Revoked'"), true],
    [
      'a refusal wrapped as the cause',
      new Error('connection closed', { cause: new AuthorizationError('authorization violation') }),
      true,
    ],
    ['a timeout', new Error('TIMEOUT'), false],
    ['a refused TCP connection', new Error('connect ECONNREFUSED 127.0.0.1:4222'), false],
    ['nothing', undefined, false],
    ['a string', 'Authorization Violation', false],
  ])('%s → %s', (_name, err, expected) => {
    expect(isAuthError(err)).toBe(expected);
  });
});
