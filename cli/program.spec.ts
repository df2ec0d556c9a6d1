import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeHubCli } from './fake-hub.testing.js';
import { buildProgram, globalOptions, registerCommand } from './program.js';

const now = Date.parse('2025-06-01T12:00:00Z');
const cli = fakeHubCli(now);
afterEach(() => cli.close());
const run = cli.run;

const euCluster = {
  name: 'eu-1',
  labels: { env: 'prod', region: 'eu' },
  state: 'Online',
  lastSeen: new Date(now - 3000).toISOString(),
  agentVersion: '0.1.0',
  kubernetesVersion: 'v1.31.0',
  createdAt: '2025-06-01T00:00:00Z',
};

describe('cluster commands', () => {
  it('register posts name and labels, and tells how to run the agent', async () => {
    const { stdout, requests, url } = await run(
      ['cluster', 'register', 'eu-1', '--label', 'env=prod', '--label', 'region=eu'],
      () => ({
        status: 201,
        body: { cluster: { ...euCluster, state: 'Pending', lastSeen: null }, token: 'fla_abc' },
      }),
    );
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/clusters',
      body: { name: 'eu-1', labels: { env: 'prod', region: 'eu' } },
    });
    expect(stdout).toContain('eu-1   Pending   env=prod,region=eu   never');
    expect(stdout).toContain(`flotilla agent --hub ${url} --token fla_abc --simulate`);
  });

  it('list follows pages and prints a kubectl-like table', async () => {
    const { stdout, requests } = await run(['cluster', 'list', '-l', 'env=prod'], (req) =>
      req.query.continue
        ? { status: 200, body: { items: [{ ...euCluster, name: 'eu-2', lastSeen: null }] } }
        : { status: 200, body: { items: [euCluster], continue: 'x' } },
    );
    expect(requests.map((r) => r.query)).toEqual([
      { labelSelector: 'env=prod' },
      { labelSelector: 'env=prod', continue: 'x' },
    ]);
    expect(stdout).toBe(
      [
        'NAME   STATE    LABELS               LAST SEEN   KUBERNETES   AGENT',
        'eu-1   Online   env=prod,region=eu   3s ago      v1.31.0      0.1.0',
        'eu-2   Online   env=prod,region=eu   never       v1.31.0      0.1.0',
        '',
      ].join('\n'),
    );
  });

  it('list --limit asks for one page and -o json prints it', async () => {
    const page = { items: [euCluster], continue: 'more' };
    const { stdout, requests } = await run(
      ['cluster', 'list', '--limit', '1', '-o', 'json'],
      () => ({
        status: 200,
        body: page,
      }),
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]?.query).toEqual({ limit: '1' });
    expect(JSON.parse(stdout)).toEqual(page);
  });

  it('label merges changes into the current labels and PATCHes them wholesale', async () => {
    const { requests, error } = await run(
      ['cluster', 'label', 'eu-1', 'tier=web', 'region-', 'env=prod'],
      (req) =>
        req.method === 'GET'
          ? { status: 200, body: euCluster }
          : {
              status: 200,
              body: { ...euCluster, labels: (req.body as { labels: object }).labels },
            },
    );
    expect(error).toBeUndefined();
    expect(requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['GET', '/api/v1/clusters/eu-1', undefined],
      ['PATCH', '/api/v1/clusters/eu-1', { labels: { env: 'prod', tier: 'web' } }],
    ]);
  });

  it('label refuses to change a value without --overwrite', async () => {
    const { requests, error } = await run(['cluster', 'label', 'eu-1', 'env=dev'], () => ({
      status: 200,
      body: euCluster,
    }));
    expect(error?.message).toBe('label "env" already has a value (prod), and --overwrite is false');
    expect(requests).toHaveLength(1);
  });

  it('get prints the deployments as a second table', async () => {
    const { stdout } = await run(['cluster', 'get', 'eu-1'], () => ({
      status: 200,
      body: {
        ...euCluster,
        deployments: [
          {
            bundle: 'demo/web',
            commit: '0123456789abcdef',
            desiredRevision: 'sha256:aaaaaaaaaaaaaaaa',
            appliedRevision: 'sha256:aaaaaaaaaaaaaaaa',
            state: 'Ready',
            message: '',
          },
        ],
      },
    }));
    expect(stdout).toContain(
      '\n\nBUNDLE     STATE   COMMIT    DESIRED        APPLIED        MESSAGE\n',
    );
    expect(stdout).toContain('demo/web   Ready   0123456   aaaaaaaaaaaa   aaaaaaaaaaaa\n');
  });

  it('an API error rejects with the hub message', async () => {
    const { error } = await run(['cluster', 'delete', 'nope'], () => ({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'cluster "nope" not found' },
    }));
    expect(error?.message).toBe('cluster "nope" not found');
  });
});

describe('group commands', () => {
  it('create sends the selector string as given', async () => {
    const { requests, stdout } = await run(
      ['group', 'create', 'prod-eu', '--selector', 'env=prod,region in (eu,us)'],
      () => ({
        status: 201,
        body: {
          name: 'prod-eu',
          selector: { matchLabels: { env: 'prod' } },
          selectorText: 'env=prod,region in (eu,us)',
          clusterCount: 2,
        },
      }),
    );
    expect(requests[0]?.body).toEqual({ name: 'prod-eu', selector: 'env=prod,region in (eu,us)' });
    expect(stdout).toBe(
      'NAME      SELECTOR                     CLUSTERS\nprod-eu   env=prod,region in (eu,us)   2\n',
    );
  });

  it('get shows the summary and member clusters', async () => {
    const { stdout, requests } = await run(['group', 'get', 'a/b'], () => ({
      status: 200,
      body: {
        name: 'a/b',
        selector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu', 'us'] }] },
        selectorText: '',
        clusters: ['eu-1', 'us-1'],
        summary: { total: 2, online: 1, offline: 0, pending: 1 },
      },
    }));
    expect(requests[0]?.path).toBe('/api/v1/cluster-groups/a%2Fb');
    expect(stdout).toBe(
      [
        'NAME   SELECTOR            CLUSTERS   ONLINE   OFFLINE   PENDING',
        'a/b    region in (eu,us)   2          1        0         1',
        '',
        'CLUSTER',
        'eu-1',
        'us-1',
        '',
      ].join('\n'),
    );
  });
});

describe('global options', () => {
  function probe(args: string[], env: Partial<Record<string, string>> = {}) {
    const saved = { ...process.env };
    delete process.env.FLOTILLA_SERVER;
    delete process.env.FLOTILLA_TOKEN;
    Object.assign(process.env, env);
    try {
      let seen: ReturnType<typeof globalOptions> | undefined;
      const program = buildProgram();
      program.exitOverride();
      registerCommand(
        program,
        new Command('probe').action((_opts: unknown, cmd: Command) => {
          seen = globalOptions(cmd);
        }),
      );
      program.parse(['node', 'flotilla', ...args]);
      return seen;
    } finally {
      process.env = saved;
    }
  }

  it.each([
    {
      args: ['probe'],
      env: {},
      server: 'http://localhost:8080',
      token: undefined,
      output: 'table',
    },
    {
      args: ['probe'],
      env: { FLOTILLA_SERVER: 'http://hub:1', FLOTILLA_TOKEN: 't' },
      server: 'http://hub:1',
      token: 't',
      output: 'table',
    },
    {
      args: ['--server', 'http://a', '-o', 'yaml', 'probe'],
      env: { FLOTILLA_SERVER: 'http://env' },
      server: 'http://a',
      token: undefined,
      output: 'yaml',
    },
    {
      args: ['--server', 'http://a', 'probe', '--server', 'http://b', '--token', 'x', '-o', 'json'],
      env: {},
      server: 'http://b',
      token: 'x',
      output: 'json',
    },
  ])('$args $env', ({ args, env, server, token, output }) => {
    expect(probe(args, env)).toEqual({ server, token, output });
  });

  it('a registered command keeps its own --token', () => {
    let seen: unknown;
    const program = buildProgram();
    registerCommand(
      program,
      new Command('agent')
        .option('--token <t>', 'agent token')
        .action((opts: { token?: string }, cmd: Command) => {
          seen = {
            own: opts.token,
            global: globalOptions(cmd).token,
            server: globalOptions(cmd).server,
          };
        }),
    );
    program.parse(['node', 'flotilla', 'agent', '--token', 'agent-tok', '--server', 'http://h']);
    expect(seen).toEqual({ own: 'agent-tok', global: 'agent-tok', server: 'http://h' });
  });
});
