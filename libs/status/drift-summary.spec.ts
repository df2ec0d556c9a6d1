import { describe, expect, it } from 'vitest';
import { driftSummary } from './drift-summary.js';

const modified = (kind: string, name: string, drift?: unknown) => ({
  apiVersion: 'v1',
  kind,
  namespace: 'default',
  name,
  state: 'Modified',
  message: 'modified',
  ...(drift === undefined ? {} : { drift }),
});
const replicas = { path: 'spec.replicas', desired: '3', live: '5' };
const image = {
  path: 'spec.template.spec.containers[0].image',
  desired: '"web:1"',
  live: '"web:2"',
};

describe('driftSummary', () => {
  it.each([
    ['no resources', [], ''],
    ['no Modified resource', [{ kind: 'ConfigMap', name: 'a', state: 'Ready' }], ''],
    [
      'one field',
      [modified('Deployment', 'web', [replicas])],
      'modified: Deployment web: spec.replicas 3→5',
    ],
    [
      'the first field and a count of the others',
      [modified('Deployment', 'web', [replicas, image])],
      'modified: Deployment web: spec.replicas 3→5, +1 more',
    ],
    [
      'a field the live object lacks',
      [modified('ConfigMap', 'cfg', [{ path: 'data.color', desired: '"blue"' }])],
      'modified: ConfigMap cfg: data.color "blue"→(missing)',
    ],
    [
      'long values are shortened',
      [
        modified('ConfigMap', 'cfg', [
          { path: 'data.x', desired: `"${'a'.repeat(40)}"`, live: '1' },
        ]),
      ],
      `modified: ConfigMap cfg: data.x "${'a'.repeat(20)}...→1`,
    ],
    [
      'an object reported Modified without fields is named alone',
      [modified('Service', 'api')],
      'modified: Service api',
    ],
    [
      'Ready objects are skipped; two objects are named, the rest counted',
      [
        { kind: 'ConfigMap', name: 'ok', state: 'Ready' },
        modified('Deployment', 'web', [replicas]),
        modified('Deployment', 'api', [image]),
        modified('Service', 'api'),
        modified('Service', 'web'),
      ],
      'modified: Deployment web: spec.replicas 3→5; Deployment api: spec.template.spec.containers[0].image "web:1"→"web:2"; +2 more objects',
    ],
    [
      'one more object',
      [modified('Service', 'a'), modified('Service', 'b'), modified('Service', 'c')],
      'modified: Service a; Service b; +1 more object',
    ],
    [
      'malformed entries are skipped, not thrown over',
      [null, 'x', modified('Deployment', 'web', [{ path: 1 }, replicas, 'junk'])],
      'modified: Deployment web: spec.replicas 3→5',
    ],
  ])('%s', (_name, resources, expected) => {
    expect(driftSummary(resources)).toBe(expected);
  });
});
