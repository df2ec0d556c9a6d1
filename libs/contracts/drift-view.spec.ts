import { describe, expect, it } from 'vitest';
import { driftOf } from './drift-view.js';

const field = { path: 'spec.replicas', desired: '1', live: '3' };
const web = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace: 'default',
  name: 'web',
  state: 'Modified',
  message: 'modified',
  drift: [field],
};

describe('driftOf', () => {
  it.each([
    {
      name: 'a Modified object with its fields',
      deployments: [{ bundle: 'a/web', resources: [web] }],
      bundle: undefined,
      expected: [
        {
          bundle: 'a/web',
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'default',
          name: 'web',
          message: 'modified',
          fields: [field],
        },
      ],
    },
    {
      name: 'objects in another state are no drift',
      deployments: [{ bundle: 'a/web', resources: [{ ...web, state: 'Ready', drift: undefined }] }],
      bundle: undefined,
      expected: [],
    },
    {
      name: 'a cluster-scoped object without drift fields keeps no namespace and no fields',
      deployments: [
        {
          bundle: 'a/web',
          resources: [{ ...web, kind: 'Namespace', namespace: undefined, drift: undefined }],
        },
      ],
      bundle: undefined,
      expected: [expect.not.objectContaining({ namespace: expect.anything() })],
    },
    {
      name: 'a bundle filter keeps only that bundle',
      deployments: [
        { bundle: 'a/web', resources: [web] },
        { bundle: 'a/db', resources: [web] },
      ],
      bundle: 'a/db',
      expected: [expect.objectContaining({ bundle: 'a/db', fields: [field] })],
    },
    {
      name: 'resources that are not a list are ignored',
      deployments: [{ bundle: 'a/web', resources: null }],
      bundle: undefined,
      expected: [],
    },
  ])('$name', ({ deployments, bundle, expected }) => {
    expect(driftOf(deployments, bundle)).toEqual(expected);
  });
});
