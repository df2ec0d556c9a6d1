import { describe, expect, it } from 'vitest';
import {
  RolloutActionReplySchema,
  type RolloutActionRequest,
  RolloutActionRequestSchema,
} from './rollout-actions.js';

describe('RolloutActionRequestSchema: what the rollouts service accepts from the API', () => {
  it.each<[string, unknown, RolloutActionRequest | undefined]>([
    [
      'a promote naming the stage the operator saw',
      { rollout: 'r1', action: 'promote', by: 'api:alice', stage: 'canary' },
      { rollout: 'r1', action: 'promote', by: 'api:alice', stage: 'canary' },
    ],
    [
      'a pause with the operator reason',
      { rollout: 'r1', action: 'pause', by: 'cli', reason: 'investigating' },
      { rollout: 'r1', action: 'pause', by: 'cli', reason: 'investigating' },
    ],
    [
      'an action without an actor is recorded as anonymous',
      { rollout: 'r1', action: 'abort' },
      { rollout: 'r1', action: 'abort', by: 'anonymous' },
    ],
    ['an unknown action is refused', { rollout: 'r1', action: 'delete', by: 'x' }, undefined],
    ['a request without a rollout is refused', { action: 'pause', by: 'x' }, undefined],
    ['a rollout id that is not a string is refused', { rollout: 7, action: 'pause' }, undefined],
    ['a payload that is not an object is refused', 'pause', undefined],
  ])('%s', (_name, payload, expected) => {
    expect(RolloutActionRequestSchema.safeParse(payload).data).toEqual(expected);
  });
});

describe('RolloutActionReplySchema: what the API accepts as the answer', () => {
  it.each<[string, unknown, boolean]>([
    ['an applied action with the rollout state', { status: 200, state: 'Progressing' }, true],
    ['a refusal with its reason', { status: 409, message: 'rollout r1 is Succeeded' }, true],
    ['a busy replica', { status: 503, message: 'retry' }, true],
    ['an applied action without a state', { status: 200 }, false],
    ['an error without its reason', { status: 404 }, false],
    ['a status outside the contract', { status: 418, message: 'teapot' }, false],
  ])('%s', (_name, payload, accepted) => {
    expect(RolloutActionReplySchema.safeParse(payload).success).toBe(accepted);
  });
});
