import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTool } from '../../libs/bundles/tools.js';
import { FakeKubeApi } from '../../libs/testing/fake-kube-api.js';

// The charts of deploy/, rendered by the real helm and checked by the real kubectl (client-side
// dry run, against the wire-level fake API server for discovery), as Argo CD or `helm install`
// would use them.
const run = promisify(execFile);
const charts = join(import.meta.dirname, '..', '..', 'deploy', 'charts');
const hubValues = [
  '--set',
  'database.url=postgres://flotilla:pw@postgres:5432/flotilla',
  '--set',
  'nats.url=nats://nats:4222',
  '--set',
  'secretKey.existingSecret=flotilla-secret-key',
];

let helm: string;
let kubectl: string;
let kube: FakeKubeApi;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  [helm, kubectl] = await Promise.all([resolveTool('helm'), resolveTool('kubectl')]);
  kube = await FakeKubeApi.start();
  dir = mkdtempSync(join(tmpdir(), 'flotilla-charts-'));
  kubeconfig = await kube.writeKubeconfig(dir);
});
afterAll(async () => {
  await kube?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function template(release: string, chart: string, args: string[]): Promise<string> {
  const env = {
    ...process.env,
    HOME: dir,
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };
  const { stdout } = await run(
    helm,
    ['template', release, join(charts, chart), '--namespace', 'flotilla', ...args],
    { env },
  );
  return stdout;
}

/**
 * `kubectl apply --dry-run=client -f -` of `manifests`; resolves to kubectl's output. kubectl
 * maps every object to a resource the API server serves (discovery of the fake); the fake serves
 * no OpenAPI document, hence `--validate=false`.
 */
async function validate(manifests: string): Promise<string> {
  const child = execFile(
    kubectl,
    ['apply', '--dry-run=client', '--validate=false', '-f', '-', '--kubeconfig', kubeconfig],
    {
      env: { ...process.env, HOME: dir },
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin?.end(manifests);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`kubectl exited ${code}: ${err}`);
  return out;
}

function objects(
  text: string,
): { kind: string; metadata: { name: string }; [k: string]: unknown }[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind: string; metadata: { name: string } } | null)
    .filter((o): o is { kind: string; metadata: { name: string } } => o !== null);
}

describe('hub chart', () => {
  it('renders the same objects at every helm template, names them flotilla-hub for release flotilla, and kubectl accepts them', async () => {
    const first = await template('flotilla', 'flotilla-hub', [
      ...hubValues,
      '--set',
      'services={api,status}',
    ]);
    const second = await template('flotilla', 'flotilla-hub', [
      ...hubValues,
      '--set',
      'services={api,status}',
    ]);
    expect(second).toBe(first); // Argo CD renders charts this way: nothing random may change.
    const objs = objects(first);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/flotilla-hub',
      'Secret/flotilla-hub',
      'Service/flotilla-hub',
    ]);
    expect(first).not.toContain('FLOTILLA_ADMIN_TOKEN:'); // no token generated per render
    const deployment = objs.find((o) => o.kind === 'Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            securityContext: Record<string, unknown>;
            containers: {
              args: string[];
              env: { name: string; value?: string }[];
              securityContext: Record<string, unknown>;
              volumeMounts: { name: string; mountPath: string }[];
            }[];
            volumes: { name: string }[];
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    const hub = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(hub.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(hub.args).toEqual(['hub', '--services=api,status']);
    expect(hub.env).toContainEqual({ name: 'FLOTILLA_DATA_DIR', value: '/data' });
    expect(hub.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(pod.volumes.map((v) => v.name)).toContain('data');
    expect(await validate(first)).toMatch(/deployment\.apps\/flotilla-hub created \(dry run\)/);
  });

  it.each([
    {
      release: 'prod',
      services: 'api,status',
      name: 'prod-flotilla-hub',
      arg: '--services=api,status',
    },
    { release: 'flotilla-hub', services: '', name: 'flotilla-hub', arg: undefined },
  ])('release $release: $name, services as a string', async ({ release, services, name, arg }) => {
    const text = await template(release, 'flotilla-hub', [
      ...hubValues,
      ...(services ? ['--set-string', `services=${services.replace(',', '\\,')}`] : []),
    ]);
    const deployment = objects(text).find((o) => o.kind === 'Deployment') as unknown as {
      metadata: { name: string };
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    expect(deployment.metadata.name).toBe(name);
    expect(deployment.spec.template.spec.containers[0]!.args[1]).toBe(arg);
  });

  it('keeps a given admin token, and generates the secret key only when none is given', async () => {
    const text = await template('flotilla', 'flotilla-hub', [
      '--set',
      'database.url=postgres://x',
      '--set',
      'nats.url=nats://y',
      '--set',
      'auth.adminToken=0123456789abcdef0123456789',
    ]);
    expect(text).toContain('FLOTILLA_ADMIN_TOKEN: "0123456789abcdef0123456789"');
    expect(objects(text).map((o) => `${o.kind}/${o.metadata.name}`)).toContain(
      'Secret/flotilla-hub-secret-key',
    );
  });
});

describe('agent chart', () => {
  it('renders for a cluster and kubectl accepts it', async () => {
    const text = await template('flotilla', 'flotilla-agent', [
      '--set',
      'hub.url=https://flotilla.example.com',
      '--set',
      'token.value=fla_example',
    ]);
    expect(
      await template('flotilla', 'flotilla-agent', [
        '--set',
        'hub.url=https://flotilla.example.com',
        '--set',
        'token.value=fla_example',
      ]),
    ).toBe(text);
    const kinds = objects(text).map((o) => o.kind);
    expect(kinds).toContain('Deployment');
    expect(objects(text).find((o) => o.kind === 'Deployment')?.metadata.name).toBe(
      'flotilla-agent',
    );
    expect(await validate(text)).toMatch(/deployment\.apps\/flotilla-agent created \(dry run\)/);
  });
});
