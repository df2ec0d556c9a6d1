import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { flotillaVersion } from '../libs/contracts/project-root.js';
import { evaluateWait, type WaitDeployment } from './commands/wait.js';
import {
  configPath,
  contextNameFor,
  readConfig,
  upsertContext,
  writeConfig,
  type CliConfig,
} from './config-file.js';
import {
  startFakeHub,
  type FakeAnswer,
  type FakeHub,
  type SeenRequest,
} from './fake-hub.testing.js';
import { buildProgram, expandVersionFlag } from './program.js';

const now = Date.parse('2025-06-01T12:00:00Z');
let hub: FakeHub | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-cli-'));
  dirs.push(dir);
  return dir;
}

/** Runs the program against a fake hub with its own configuration file. */
async function run(
  args: string[],
  handle: (req: SeenRequest) => FakeAnswer,
  options: { env?: NodeJS.ProcessEnv; stop?: AbortSignal; server?: boolean } = {},
) {
  hub = await startFakeHub(handle);
  let stdout = '';
  let stderr = '';
  const env = options.env ?? { FLOTILLA_CONFIG: join(tempDir(), 'config.yaml') };
  const program = buildProgram({
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    now: () => now,
    env,
    stop: options.stop,
  });
  const argv = options.server === false ? args : [...args, '--server', hub.url];
  const error = await program.parseAsync(expandVersionFlag(program, argv), { from: 'user' }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  return { stdout, stderr, error, requests: hub.requests };
}

const cluster = (name: string, state = 'Online') => ({
  name,
  labels: { env: 'prod' },
  state,
  lastSeen: new Date(now - 3000).toISOString(),
  agentVersion: '0.1.0',
  kubernetesVersion: 'v1.31.0',
  createdAt: '2025-06-01T00:00:00Z',
});

describe('configuration file', () => {
  it.each([
    {
      name: 'FLOTILLA_CONFIG wins',
      env: { FLOTILLA_CONFIG: '/x/c.yaml', XDG_CONFIG_HOME: '/xdg' },
      path: '/x/c.yaml',
    },
    {
      name: 'XDG_CONFIG_HOME next',
      env: { XDG_CONFIG_HOME: '/xdg' },
      path: '/xdg/flotilla/config.yaml',
    },
    { name: 'else ~/.config', env: {}, path: '/home/u/.config/flotilla/config.yaml' },
  ])('path: $name', ({ env, path }) => {
    expect(configPath(env, '/home/u')).toBe(path);
  });

  it('round-trips contexts through a file only its owner can read', async () => {
    const path = join(tempDir(), 'sub', 'config.yaml');
    let config: CliConfig = { contexts: [] };
    config = upsertContext(config, { name: 'dev', server: 'http://localhost:8080', token: 'a' });
    config = upsertContext(config, { name: 'prod', server: 'https://hub.example', token: 'b' });
    config = upsertContext(config, { name: 'dev', server: 'http://localhost:9090', token: 'c' });
    await writeConfig(path, config);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await readConfig(path)).toEqual({
      currentContext: 'dev',
      contexts: [
        { name: 'dev', server: 'http://localhost:9090', token: 'c' },
        { name: 'prod', server: 'https://hub.example', token: 'b' },
      ],
    });
  });

  it('a missing file is an empty configuration; a broken one names the file', async () => {
    const dir = tempDir();
    expect(await readConfig(join(dir, 'none.yaml'))).toEqual({ contexts: [] });
    writeFileSync(join(dir, 'bad.yaml'), 'contexts: [{name: x}]\n');
    await expect(readConfig(join(dir, 'bad.yaml'))).rejects.toThrow(
      /bad\.yaml: contexts\.0\.server/,
    );
  });

  it.each([
    ['http://localhost:8080', 'localhost-8080'],
    ['https://hub.example.com', 'hub.example.com-443'],
    ['http://[::1]:8080/', '1-8080'],
  ])('context name for %s is %s', (server, name) => {
    expect(contextNameFor(server)).toBe(name);
  });
});

describe('login and contexts', () => {
  it('login checks the token, stores it, and later commands use the current context', async () => {
    const env = { FLOTILLA_CONFIG: join(tempDir(), 'config.yaml') };
    const answer = (req: SeenRequest): FakeAnswer =>
      req.headers.authorization === 'Bearer good'
        ? { status: 200, body: { items: [cluster('eu-1')] } }
        : { status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'bad token' } };
    const login = await run(['login', '--token', 'good', '--name', 'lab'], answer, { env });
    expect(login.error).toBeUndefined();
    expect(login.stdout).toContain('as context "lab"');
    const url = hub!.url;
    const config = await readConfig(env.FLOTILLA_CONFIG);
    expect(config).toEqual({
      currentContext: 'lab',
      contexts: [{ name: 'lab', server: url, token: 'good' }],
    });
    await hub!.close();

    // The next command gives neither --server nor --token: both come from the context.
    hub = await startFakeHub(answer);
    await writeConfig(
      env.FLOTILLA_CONFIG,
      upsertContext(config, { name: 'lab', server: hub.url, token: 'good' }),
    );
    let stdout = '';
    const program = buildProgram({
      stdout: { write: (s: string) => (stdout += s) },
      now: () => now,
      env,
    });
    await program.parseAsync(['cluster', 'list', '-o', 'name'], { from: 'user' });
    expect(stdout).toBe('cluster/eu-1\n');
    expect(hub.requests[0]?.headers.authorization).toBe('Bearer good');
  });

  it('login refuses a token the hub refuses, and stores nothing', async () => {
    const env = { FLOTILLA_CONFIG: join(tempDir(), 'config.yaml') };
    const { error } = await run(
      ['login', '--token', 'bad'],
      () => ({
        status: 401,
        body: { statusCode: 401, error: 'Unauthorized', message: 'invalid token' },
      }),
      { env },
    );
    expect(error?.message).toMatch(/refused the token: invalid token/);
    expect(await readConfig(env.FLOTILLA_CONFIG)).toEqual({ contexts: [] });
  });

  it('context use switches, list marks the current one, an unknown one is an error', async () => {
    const env = { FLOTILLA_CONFIG: join(tempDir(), 'config.yaml') };
    await writeConfig(env.FLOTILLA_CONFIG, {
      currentContext: 'a',
      contexts: [
        { name: 'a', server: 'http://a:8080', token: 't' },
        { name: 'b', server: 'http://b:8080' },
      ],
    });
    const use = await run(['context', 'use', 'b'], () => ({ status: 500 }), { env, server: false });
    expect(use.stdout).toBe('Switched to context "b".\n');
    const list = await run(['context', 'list'], () => ({ status: 500 }), { env, server: false });
    expect(list.stdout).toBe(
      'CURRENT   NAME   SERVER          TOKEN\n' +
        '          a      http://a:8080   yes\n' +
        '*         b      http://b:8080   no\n',
    );
    const unknown = await run(['context', 'use', 'c'], () => ({ status: 500 }), {
      env,
      server: false,
    });
    expect(unknown.error?.message).toMatch(/no context "c".*contexts: a, b/);
    const flag = await run(['--context', 'zzz', 'cluster', 'list'], () => ({ status: 500 }), {
      env,
      server: false,
    });
    expect(flag.error?.message).toMatch(/no context "zzz"/);
  });

  it('an explicit --server does not get the token of a context for another server', async () => {
    const env = { FLOTILLA_CONFIG: join(tempDir(), 'config.yaml') };
    await writeConfig(env.FLOTILLA_CONFIG, {
      currentContext: 'a',
      contexts: [{ name: 'a', server: 'http://a:8080', token: 'secret' }],
    });
    const { requests } = await run(
      ['cluster', 'list'],
      () => ({ status: 200, body: { items: [] } }),
      {
        env,
      },
    );
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });
});

describe('version', () => {
  it.each([
    { name: '`version`', args: ['version'] },
    { name: '`--version`', args: ['--version'] },
  ])('$name prints the client and hub versions', async ({ args }) => {
    const { stdout, requests } = await run(args, () => ({
      status: 200,
      body: { version: '9.9.9', api: 'v1' },
    }));
    expect(requests[0]?.path).toBe('/api/v1/version');
    expect(stdout).toBe(`Client: ${flotillaVersion()}\nHub:    9.9.9 (${hub!.url})\n`);
  });

  it('says why the hub version is missing, and still succeeds', async () => {
    const { stdout, error } = await run(['version', '-o', 'json'], () => ({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'Cannot GET /api/v1/version' },
    }));
    expect(error).toBeUndefined();
    expect(JSON.parse(stdout)).toMatchObject({
      client: flotillaVersion(),
      hub: null,
      hubError: 'Cannot GET /api/v1/version',
    });
  });

  it.each([
    { argv: ['--version'], expected: ['version'] },
    { argv: ['--server', 'http://x', '-V'], expected: ['--server', 'http://x', 'version'] },
    { argv: ['cluster', 'list', '--version'], expected: ['cluster', 'list', '--version'] },
  ])('expandVersionFlag($argv)', ({ argv, expected }) => {
    expect(expandVersionFlag(buildProgram(), argv)).toEqual(expected);
  });
});

describe('output formats', () => {
  it.each([
    { format: 'name', expected: 'cluster/eu-1\ncluster/us-1\n' },
    {
      format: 'wide',
      expected: expect.stringMatching(
        /^NAME .* AGENT +REGISTERED +LAST SEEN AT\neu-1 .* 12h ago +2025-06-01T11:59:57.000Z\n/,
      ),
    },
  ])('cluster list -o $format', async ({ format, expected }) => {
    const { stdout } = await run(['cluster', 'list', '-o', format], () => ({
      status: 200,
      body: { items: [cluster('eu-1'), cluster('us-1')] },
    }));
    expect(stdout).toEqual(expected);
  });
});

describe('--watch', () => {
  it('cluster list --watch on a pipe prints again only when the list changed', async () => {
    const stop = new AbortController();
    const answers = [[cluster('eu-1', 'Pending')], [cluster('eu-1', 'Pending')], [cluster('eu-1')]];
    let calls = 0;
    const { stdout } = await run(
      ['cluster', 'list', '--watch', '--interval', '100ms', '-o', 'name'],
      () => {
        const items = answers[Math.min(calls, answers.length - 1)];
        calls += 1;
        if (calls >= answers.length) stop.abort();
        return { status: 200, body: { items } };
      },
      { stop: stop.signal },
    );
    expect(calls).toBe(3);
    // -o name shows the same name each time: one line, since nothing it prints changed.
    expect(stdout).toBe('cluster/eu-1\n');
  });

  it('repo get --watch prints each changed view', async () => {
    const stop = new AbortController();
    const repo = (commit: string) => ({
      name: 'shop',
      url: 'https://git.example/shop.git',
      branch: 'main',
      status: {
        commit,
        error: null,
        bundleErrors: [],
        bundles: ['shop/web'],
        summary: { desired: 1, ready: 1, byState: { Ready: 1 } },
      },
    });
    const answers = ['aaaaaaaa11', 'bbbbbbbb22'];
    let calls = 0;
    const { stdout } = await run(
      ['repo', 'get', 'shop', '--watch', '--interval', '100ms', '-o', 'json'],
      () => {
        const body = repo(answers[Math.min(calls, answers.length - 1)]!);
        calls += 1;
        if (calls >= answers.length) stop.abort();
        return { status: 200, body };
      },
      { stop: stop.signal },
    );
    const docs = stdout
      .trim()
      .split(/\n(?=\{)/)
      .map((d) => JSON.parse(d) as { status: { commit: string } });
    expect(docs.map((d) => d.status.commit)).toEqual(answers);
  });
});

describe('wait', () => {
  const sha = 'abcdef1234567890';
  const d = (
    cluster: string,
    commit: string | null,
    state = 'Ready',
    message = '',
  ): WaitDeployment => ({
    cluster,
    commit,
    state,
    message,
  });
  it.each([
    {
      name: 'every deployment at the commit and Ready: done',
      bundles: { 'shop/web': [d('a', sha), d('b', sha)] },
      done: true,
      pending: [],
    },
    {
      name: 'a short SHA matches',
      bundles: { 'shop/web': [d('a', sha), d('b', sha)] },
      commit: 'abcdef1',
      done: true,
      pending: [],
    },
    {
      name: 'an older commit is pending',
      bundles: { 'shop/web': [d('a', sha), d('b', '0123456789')] },
      done: false,
      pending: [{ cluster: 'b', reason: 'shop/web is at 01234567' }],
    },
    {
      name: 'at the commit but not Ready is pending, with the message',
      bundles: { 'shop/web': [d('a', sha, 'ErrApplied', 'bad manifest'), d('b', sha)] },
      done: false,
      pending: [{ cluster: 'a', reason: 'shop/web is ErrApplied: bad manifest' }],
    },
    {
      name: 'a cluster without any deployment of the bundles is pending',
      bundles: { 'shop/web': [d('a', sha)] },
      done: false,
      pending: [{ cluster: 'b', reason: 'no deployment of the selected bundles' }],
    },
  ])('$name', ({ bundles, commit, done, pending }) => {
    const result = evaluateWait(commit ?? sha, ['a', 'b'], new Map(Object.entries(bundles)));
    expect(result.done).toBe(done);
    expect(result.pending).toEqual(pending);
  });

  it('no cluster selected never counts as done', () => {
    expect(evaluateWait(sha, [], new Map()).done).toBe(false);
  });

  it('waits until the commit is Ready everywhere, then exits 0', async () => {
    let polls = 0;
    const { stdout, error } = await run(
      ['wait', '--repo', 'shop', '--commit', 'abcdef12', '-l', 'env=prod', '--interval', '100ms'],
      (req) => {
        if (req.path === '/api/v1/clusters')
          return { status: 200, body: { items: [cluster('a'), cluster('b')] } };
        if (req.path === '/api/v1/bundles')
          return { status: 200, body: { items: [{ name: 'shop/web' }] } };
        polls += 1;
        const state = polls < 3 ? 'WaitApplied' : 'Ready';
        return { status: 200, body: { deployments: [d('a', sha, state), d('b', sha, state)] } };
      },
    );
    expect(error).toBeUndefined();
    expect(polls).toBe(3);
    expect(stdout).toMatch(/^commit abcdef12 is Ready on 2 cluster\(s\) after \d+s\n$/);
  });

  it("waits for a GitRepo's first commit, then for that commit on the clusters", async () => {
    let repoPolls = 0;
    const { stdout, error } = await run(
      ['wait', '--repo', 'shop', '--cluster', 'a', '--interval', '100ms'],
      (req) => {
        if (req.path === '/api/v1/gitrepos/shop') {
          repoPolls += 1;
          return { status: 200, body: { status: { commit: repoPolls < 3 ? null : sha } } };
        }
        if (req.path === '/api/v1/clusters/a') return { status: 200, body: cluster('a') };
        if (req.path === '/api/v1/bundles')
          return { status: 200, body: { items: [{ name: 'shop/web' }] } };
        return { status: 200, body: { deployments: [d('a', sha, 'Ready')] } };
      },
    );
    expect(error).toBeUndefined();
    expect(repoPolls).toBe(3);
    expect(stdout).toMatch(/^commit abcdef12 is Ready on 1 cluster\(s\) after \d+s\n$/);
  });

  it('gives up on a GitRepo that syncs no commit before the timeout', async () => {
    const { error } = await run(
      ['wait', '--repo', 'shop', '--cluster', 'a', '--timeout', '300ms', '--interval', '100ms'],
      () => ({ status: 200, body: { status: { commit: null } } }),
    );
    expect(error?.message).toMatch(/^timed out: GitRepo "shop" synced no commit within \d+s$/);
  });

  it('exits non-zero on timeout, naming the clusters left', async () => {
    const { stdout, error } = await run(
      [
        'wait',
        '--bundle',
        'shop/web',
        '--commit',
        'abcdef12',
        '--cluster',
        'a',
        '--timeout',
        '300ms',
        '--interval',
        '100ms',
      ],
      (req) => {
        if (req.path === '/api/v1/clusters/a') return { status: 200, body: cluster('a') };
        return { status: 200, body: { deployments: [d('a', '0000000011')] } };
      },
    );
    expect(error?.message).toBe('timed out waiting for commit abcdef12');
    expect(stdout).toContain('  a: shop/web is at 00000000\n');
  });
});

describe('completion', () => {
  it.each(['bash', 'zsh', 'fish'])('%s names every command and the -o choices', async (shell) => {
    const { stdout } = await run(['completion', shell], () => ({ status: 500 }), { server: false });
    for (const word of [
      'cluster',
      'registration-token',
      'wait',
      'context',
      'manifests',
      'table wide name json yaml',
    ]) {
      expect(stdout).toContain(word);
    }
  });

  /** What bash completes for the words typed so far (the last one being completed). */
  function bashComplete(script: string, words: string[]): string[] {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.bash'), script);
    const array = words.map((w) => `'${w}'`).join(' ');
    const out = execFileSync('bash', [
      '-c',
      `source ${join(dir, 'c.bash')}; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _flotilla_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ]).toString();
    return out.split('\n').filter((l) => l !== '');
  }

  it.each([
    { typed: ['flotilla', 'clu'], expected: ['cluster'] },
    {
      typed: ['flotilla', 'cluster', ''],
      expected: ['register', 'list', 'get', 'drift', 'label', 'delete', '--help', '-h'],
    },
    {
      typed: ['flotilla', 'cluster', 'list', '-o', ''],
      expected: ['table', 'wide', 'name', 'json', 'yaml'],
    },
    { typed: ['flotilla', 'repo', 'get', 'x', '--wa'], expected: ['--watch'] },
    { typed: ['flotilla', 'completion', ''], expected: ['--help', '-h'] },
  ])('bash completes $typed', async ({ typed, expected }) => {
    const { stdout } = await run(['completion', 'bash'], () => ({ status: 500 }), {
      server: false,
    });
    expect(bashComplete(stdout, typed)).toEqual(expected);
  });
});
