import { describe, expect, it } from 'vitest';
import { actorName } from './rollouts.controller.js';

describe('actorName (who a rollout action is recorded as)', () => {
  it.each([
    ['api', undefined, undefined, 'api'],
    ['api', undefined, 'alice', 'api:alice'],
    ['api', 'ci-deployer', undefined, 'api:ci-deployer'],
    ['api', 'ci-deployer', 'alice', 'api:ci-deployer/alice'],
    ['api', 'ci-deployer', '   ', 'api:ci-deployer'],
    ['grpc', 'dash', undefined, 'grpc:dash'],
  ] as const)('%s, token %s, on behalf of %s → %s', (via, token, person, expected) => {
    expect(actorName(via, token, person)).toBe(expected);
  });

  it('cuts a long X-Flotilla-Actor to 100 characters', () => {
    expect(actorName('api', 't', 'x'.repeat(500))).toBe(`api:t/${'x'.repeat(100)}`);
  });
});
