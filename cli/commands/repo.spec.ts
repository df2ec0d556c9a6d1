import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { fakeHubCli } from '../fake-hub.testing.js';

const now = Date.parse('2025-06-01T12:00:00Z');
const cli = fakeHubCli(now);
afterEach(() => cli.close());
const run = cli.run;

const longError = `GitRepo demo: path "aps": directory "aps" does not exist; no bundle is removed while a path is unusable (3 kept)`;
const bundleError =
  'variant "eu" (clusters eu-1, eu-2; they keep what they run): demo/web: customization "eu" patches[0]: target (kind=ConfigMap, name=missing) matches no object\nsecond line of the error';

function gitrepo(over: Record<string, unknown> = {}, status: Record<string, unknown> = {}) {
  return {
    name: 'demo',
    url: 'https://git.example/demo.git',
    branch: 'main',
    revision: null,
    paths: ['apps'],
    pollingInterval: '15s',
    generation: 3,
    ...over,
    status: {
      commit: 'abcdef1234567890',
      lastSyncedAt: new Date(now - 2000).toISOString(),
      lastChangedAt: new Date(now - 3_600_000).toISOString(),
      error: longError,
      warnings: [],
      bundles: ['demo/web'],
      bundleErrors: [{ bundle: 'demo/web', commit: 'abcdef1234567890', message: bundleError }],
      summary: { desired: 2, ready: 1, byState: { Ready: 1, OutOfSync: 1 } },
      ...status,
    },
  };
}

describe('repo list and get', () => {
  it('repo list shows every error in full, each line of it, and the warnings', async () => {
    const nowhere = gitrepo(
      { name: 'nowhere' },
      {
        error: null,
        bundleErrors: [],
        warnings: [
          { reason: 'NoTargets', message: 'no targets: its bundles deploy to no cluster' },
        ],
      },
    );
    const { stdout, error } = await run(['repo', 'list'], () => ({
      status: 200,
      body: { items: [gitrepo(), nowhere] },
    }));
    expect(error).toBeUndefined();
    expect(stdout).toMatch(
      /^demo\s+https:\/\/git\.example\/demo\.git\s+main\s+abcdef12\s+1\s+1\/2\s+2s ago\s+2$/m,
    );
    expect(stdout).toContain(`Errors:\n  demo: ${longError}\n`);
    expect(stdout).toContain(
      `  demo: bundle demo/web (at abcdef12): ${bundleError.split('\n')[0]}\n    second line of the error\n`,
    );
    expect(stdout).toContain(
      'Warnings:\n  nowhere: no targets: its bundles deploy to no cluster\n',
    );
  });

  it('repo get shows when the commit last changed, and every error in full', async () => {
    const { stdout } = await run(['repo', 'get', 'demo'], () => ({ status: 200, body: gitrepo() }));
    expect(stdout).toContain('Changed: 1h ago');
    expect(stdout).toContain(longError);
    expect(stdout).toContain('second line of the error');
  });
});

describe('repo update', () => {
  it.each([
    ['one field is sent alone', ['--branch', 'release'], { branch: 'release' }],
    [
      'paths and targets replace the stored ones',
      ['--path', 'a', '--path', 'b', '--target', 'group:canaries', '--target', 'cluster:eu-1'],
      { paths: ['a', 'b'], targets: [{ clusterGroup: 'canaries' }, { clusterName: 'eu-1' }] },
    ],
    ['--follow-branch unpins the revision', ['--follow-branch'], { revision: null }],
    ['--no-targets removes every target', ['--no-targets'], { targets: [] }],
    [
      '--generation is a precondition',
      ['--polling-interval', '1m', '--generation', '3'],
      { pollingInterval: '1m', generation: 3 },
    ],
  ])('%s', async (_name, flags, body) => {
    const { requests, error, stdout } = await run(['repo', 'update', 'demo', ...flags], () => ({
      status: 200,
      body: gitrepo(),
    }));
    expect(error).toBeUndefined();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'PATCH', path: '/api/v1/gitrepos/demo' });
    expect(requests[0]?.body).toEqual(body);
    expect(stdout).toMatch(/^NAME\s+URL/m);
  });

  it.each([
    ['nothing to change', [], /nothing to change/],
    ['contradicting pins', ['--revision', 'abcdef1', '--follow-branch'], /contradict/],
    ['contradicting targets', ['--target', 'group:a', '--no-targets'], /contradict/],
    ['a bad generation', ['--branch', 'x', '--generation', 'two'], /--generation "two"/],
  ])('%s is refused before any request', async (_name, flags, message) => {
    const { requests, error } = await run(['repo', 'update', 'demo', ...flags], () => ({
      status: 200,
      body: gitrepo(),
    }));
    expect(error?.message).toMatch(message);
    expect(requests).toHaveLength(0);
  });
});

describe('bundle commands', () => {
  const manifests = {
    bundle: 'demo/web',
    cluster: 'eu-1',
    commit: 'abcdef1234567890',
    revision: '1111111122222222',
    desiredRevision: '0000000022222222',
    appliedRevision: '0000000022222222',
    objects: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'apps' } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } },
    ],
  };

  it('bundle manifests -o yaml prints the objects as a YAML stream', async () => {
    const { stdout, requests } = await run(
      ['bundle', 'manifests', 'demo/web', '--cluster', 'eu-1', '-o', 'yaml'],
      () => ({ status: 200, body: manifests }),
    );
    expect(requests[0]).toMatchObject({
      path: '/api/v1/bundles/demo%2Fweb/manifests',
      query: { cluster: 'eu-1' },
    });
    expect(parseAllDocuments(stdout).map((d) => d.toJS() as unknown)).toEqual(manifests.objects);
  });

  it('bundle manifests as a table names the revision and a rollout holding it back', async () => {
    const { stdout } = await run(['bundle', 'manifests', 'demo/web', '--cluster', 'eu-1'], () => ({
      status: 200,
      body: manifests,
    }));
    expect(stdout).toContain(
      'demo/web for cluster eu-1: revision 11111111 of commit abcdef12 (the cluster is told 00000000 until its rollout lets it)',
    );
    expect(stdout).toMatch(/^v1\s+ConfigMap\s+apps\s+web$/m);
    expect(stdout).toMatch(/^apps\/v1\s+Deployment\s+web$/m);
  });

  it('bundle manifests needs exactly one of --cluster and --variant', async () => {
    const { error, requests } = await run(['bundle', 'manifests', 'demo/web'], () => ({
      status: 200,
      body: manifests,
    }));
    expect(error?.message).toMatch(/exactly one of --cluster NAME or --variant KEY/);
    expect(requests).toHaveLength(0);
  });

  it('bundle get shows the error in full and the variants', async () => {
    const { stdout } = await run(['bundle', 'get', 'demo/web'], () => ({
      status: 200,
      body: {
        name: 'demo/web',
        gitrepo: 'demo',
        dir: 'apps/web',
        kind: 'kustomize',
        commit: 'abcdef1234567890',
        error: bundleError,
        errorCommit: 'abcdef1234567890',
        summary: { desired: 1, ready: 1, byState: { Ready: 1 } },
        variants: [{ key: 'k1', revision: '1111111122222222', clusters: ['us-1'] }],
        deployments: [
          {
            cluster: 'us-1',
            state: 'Ready',
            message: '',
            commit: 'abcdef1234567890',
            desiredRevision: '1111111122222222',
            appliedRevision: '1111111122222222',
            reportedAt: new Date(now - 5000).toISOString(),
          },
        ],
      },
    }));
    expect(stdout).toContain('Kind:     kustomize');
    expect(stdout).toContain('  second line of the error');
    expect(stdout).toMatch(/^k1\s+11111111\s+us-1$/m);
    expect(stdout).toMatch(/^us-1\s+Ready\s+abcdef12\s+11111111\s+5s ago$/m);
  });
});
