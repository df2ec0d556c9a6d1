import { describe, expect, it } from 'vitest';
import { gitRepoPatch } from './fleet.grpc.controller.js';

// UpdateGitRepo requests as the proto loader gives them (defaults filled in) → PATCH bodies.
const empty = {
  name: 'demo',
  updateMask: [],
  url: '',
  branch: '',
  revision: '',
  paths: [],
  pollingInterval: '',
  targets: [],
  generation: 0,
};

describe('gitRepoPatch', () => {
  it.each([
    ['without a mask, only non-empty fields change', { branch: 'release' }, { branch: 'release' }],
    [
      'a mask names the fields; an empty revision in it unpins',
      { updateMask: ['revision', 'paths'], paths: ['apps'] },
      { revision: null, paths: ['apps'] },
    ],
    [
      'an empty targets list in the mask deploys nowhere',
      { updateMask: ['targets'] },
      { targets: [] },
    ],
    [
      'targets keep only the field they name',
      { targets: [{ clusterSelector: 'env=prod', clusterGroup: '', clusterName: '' }] },
      { targets: [{ clusterSelector: 'env=prod' }] },
    ],
    [
      'a generation is a precondition',
      { pollingInterval: '1m', generation: 4 },
      { pollingInterval: '1m', generation: 4 },
    ],
    [
      'fields outside the mask are ignored',
      { updateMask: ['branch'], branch: 'b', url: 'https://x' },
      { branch: 'b' },
    ],
  ])('%s', (_name, req, body) => {
    expect(gitRepoPatch({ ...empty, ...req })).toEqual(body);
  });

  it.each([
    ['an unknown mask field', { updateMask: ['colour'] }, /update_mask: unknown field "colour"/],
    ['clearing the branch', { updateMask: ['branch'] }, /branch cannot be cleared/],
    [
      'a target naming two things',
      { targets: [{ clusterSelector: 'env=prod', clusterGroup: 'g', clusterName: '' }] },
      /exactly one of clusterSelector, clusterGroup, clusterName/,
    ],
  ])('%s is refused', (_name, req, message) => {
    expect(() => gitRepoPatch({ ...empty, ...req })).toThrow(message);
  });
});
