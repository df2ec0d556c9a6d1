import { afterEach, describe, expect, it } from 'vitest';
import {
  startFakeHub,
  type FakeAnswer,
  type FakeHub,
  type SeenRequest,
} from '../fake-hub.testing.js';
import { buildProgram } from '../program.js';

let hub: FakeHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function run(args: string[], handle: (req: SeenRequest) => FakeAnswer) {
  hub = await startFakeHub(handle);
  let stdout = '';
  const program = buildProgram({
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: () => undefined },
  });
  await program.parseAsync(['node', 'flotilla', ...args, '--server', hub.url], { from: 'node' });
  return { stdout, requests: hub.requests };
}

const service = (over: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  namespace: 'web',
  name: 'api',
  state: 'Modified',
  message: 'modified: spec.ports[0].targetPort: 8080 → 9090',
  ...over,
});
const cluster = (resources: unknown[], bundle = 'demo/web') => ({
  name: 'eu-1',
  labels: {},
  state: 'Online',
  deployments: [
    { bundle, state: 'Modified', resources },
    {
      bundle: 'demo/base',
      state: 'Ready',
      resources: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', state: 'Ready' }],
    },
  ],
});

describe('flotilla cluster drift', () => {
  it.each([
    {
      name: 'a drifted field prints as a YAML diff, applied value first',
      args: [],
      body: cluster([
        service({ drift: [{ path: 'spec.ports[0].targetPort', desired: '8080', live: '9090' }] }),
      ]),
      expected: [
        '--- demo/web: v1 Service web/api (applied)',
        '+++ demo/web: v1 Service web/api (live)',
        'spec.ports[0].targetPort:',
        '-  8080',
        '+  9090',
        '',
      ].join('\n'),
    },
    {
      name: 'a field removed out of band shows as missing',
      args: [],
      body: cluster([service({ drift: [{ path: 'metadata.labels.app', desired: '"web"' }] })]),
      expected: [
        '--- demo/web: v1 Service web/api (applied)',
        '+++ demo/web: v1 Service web/api (live)',
        'metadata.labels.app:',
        '-  "web"',
        '+  (missing)',
        '',
      ].join('\n'),
    },
    {
      name: 'an agent that sends no field list still shows its message',
      args: [],
      body: cluster([service({})]),
      expected: [
        '--- demo/web: v1 Service web/api (applied)',
        '+++ demo/web: v1 Service web/api (live)',
        '# modified: spec.ports[0].targetPort: 8080 → 9090 (the agent sent no field list)',
        '',
      ].join('\n'),
    },
    {
      name: '--bundle keeps only that bundle',
      args: ['--bundle', 'demo/base'],
      body: cluster([service({})]),
      expected: 'No drift on cluster eu-1 for demo/base.\n',
    },
  ])('$name', async ({ args, body, expected }) => {
    const { stdout, requests } = await run(['cluster', 'drift', 'eu-1', ...args], () => ({
      status: 200,
      body,
    }));
    expect(stdout).toBe(expected);
    expect(requests[0]?.path).toBe('/api/v1/clusters/eu-1');
  });

  it('-o json gives the drifted objects with their fields', async () => {
    const drift = [{ path: 'spec.replicas', desired: '3', live: '5' }];
    const { stdout } = await run(['cluster', 'drift', 'eu-1', '-o', 'json'], () => ({
      status: 200,
      body: cluster([service({ kind: 'Deployment', drift })]),
    }));
    expect(JSON.parse(stdout)).toEqual({
      cluster: 'eu-1',
      drift: [
        expect.objectContaining({
          bundle: 'demo/web',
          kind: 'Deployment',
          name: 'api',
          fields: drift,
        }),
      ],
    });
  });
});
