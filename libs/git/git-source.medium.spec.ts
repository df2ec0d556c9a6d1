import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGitServer, type GitServer } from '../testing/git-server.js';
import {
  GitAuthError,
  GitError,
  GitPathNotFoundError,
  GitRefNotFoundError,
  GitSource,
  GitTooLargeError,
  GitUnreachableError,
} from './index.js';

const execFileAsync = promisify(execFile);
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** Object counts of the pack files in a bare repository, one entry per pack. */
async function packObjectCounts(gitdir: string): Promise<number[]> {
  const dir = join(gitdir, 'objects', 'pack');
  const counts: number[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.idx')).sort()) {
    const idx = await readFile(join(dir, name));
    counts.push(idx.readUInt32BE(8 + 255 * 4)); // v2 index: last fan-out entry = object count
  }
  return counts;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

async function expectRejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

const files = {
  'README.md': '# demo\n',
  'apps/web/deployment.yaml': 'kind: Deployment\n',
  'apps/web/fleet.yaml': 'defaultNamespace: web\n',
  'apps/db/statefulset.yaml': 'kind: StatefulSet\n',
};

let server: GitServer;
let cacheDir: string;

beforeAll(async () => {
  server = await startGitServer();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'flotilla-git-cache-'));
  return () => rm(cacheDir, { recursive: true, force: true });
});

describe('GitSource over smart HTTP', () => {
  it('resolves a branch and reads files at the commit', async () => {
    const repo = await server.createRepo('read', files);
    const source = new GitSource({ url: repo.url, cacheDir });

    const sha = await source.resolve({ branch: 'main' });

    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const tree = source.tree(sha);
    expect(await tree.list('')).toEqual([
      { name: 'README.md', type: 'file' },
      { name: 'apps', type: 'dir' },
    ]);
    expect(await tree.list('apps/web/')).toEqual([
      { name: 'deployment.yaml', type: 'file' },
      { name: 'fleet.yaml', type: 'file' },
    ]);
    expect(text(await tree.read('apps/web/fleet.yaml'))).toBe('defaultNamespace: web\n');
    expect(text(await tree.read('/README.md'))).toBe('# demo\n');
  });

  it('rejects missing paths and wrong kinds with GitPathNotFoundError', async () => {
    const repo = await server.createRepo('paths', files);
    const source = new GitSource({ url: repo.url, cacheDir });
    const tree = source.tree(await source.resolve({ branch: 'main' }));

    const missing = await expectRejection(tree.read('apps/nope.yaml'), GitPathNotFoundError);
    expect(missing.code).toBe('ENOENT');
    expect(missing.message).toContain('apps/nope.yaml');
    expect((await expectRejection(tree.list('missing'), GitPathNotFoundError)).code).toBe('ENOENT');
    expect((await expectRejection(tree.list('README.md'), GitPathNotFoundError)).code).toBe(
      'ENOTDIR',
    );
    expect((await expectRejection(tree.read('apps'), GitPathNotFoundError)).code).toBe('EISDIR');
    await expectRejection(tree.read('../outside'), GitPathNotFoundError);
  });

  it('picks up a new commit by fetching only what is new into the same cache repository', async () => {
    const repo = await server.createRepo('incremental', files);
    const source = new GitSource({ url: repo.url, cacheDir });
    const first = await source.resolve({ branch: 'main' });
    const gitdir = source.cacheRepoDir!;
    const [initialPack] = await packObjectCounts(gitdir);
    expect(initialPack).toBe(9); // 1 commit, 4 trees (root, apps, web, db), 4 blobs
    const second = await server.commit('incremental', { 'apps/web/fleet.yaml': 'x: 2\n' });

    expect(await source.resolve({ branch: 'main' })).toBe(second);
    expect(second).not.toBe(first);
    // One more pack with just the new commit, the 3 changed trees and the 1 new blob.
    expect(await packObjectCounts(gitdir)).toEqual(expect.arrayContaining([initialPack, 5]));
    expect(await packObjectCounts(gitdir)).toHaveLength(2);
    expect(text(await source.tree(second).read('apps/web/fleet.yaml'))).toBe('x: 2\n');
    expect(text(await source.tree(first).read('apps/web/fleet.yaml'))).toBe(
      'defaultNamespace: web\n',
    );

    // Nothing new: no pack is written; a new instance on the same cache dir reuses it too.
    expect(await source.resolve({ branch: 'main' })).toBe(second);
    const again = new GitSource({ url: repo.url, cacheDir });
    expect(again.cacheRepoDir).toBe(gitdir);
    expect(await again.resolve({ branch: 'main' })).toBe(second);
    expect(await packObjectCounts(gitdir)).toHaveLength(2);
  });

  it('serialises concurrent resolves of one cache repository', async () => {
    const repo = await server.createRepo('concurrent', files);
    const sha = await server.commit('concurrent', { 'b.txt': 'b' });
    const source = new GitSource({ url: repo.url, cacheDir });
    const other = new GitSource({ url: repo.url, cacheDir });

    const shas = await Promise.all([
      source.resolve({ branch: 'main' }),
      other.resolve({ branch: 'main' }),
      source.resolve({ branch: 'main' }),
    ]);

    expect(shas).toEqual([sha, sha, sha]);
    expect(await packObjectCounts(source.cacheRepoDir!)).toHaveLength(1);
  });

  it('reports a missing branch as GitRefNotFoundError (not retryable)', async () => {
    const repo = await server.createRepo('nobranch', files);
    const source = new GitSource({ url: repo.url, cacheDir });

    const err = await expectRejection(source.resolve({ branch: 'nope' }), GitRefNotFoundError);

    expect(err.retryable).toBe(false);
    expect(err.message).toContain('"nope"');
  });

  it('resolves a pinned revision from another branch, and later without network', async () => {
    const own = await startGitServer();
    try {
      const repo = await own.createRepo('pinned', files);
      const pinned = await own.commit('pinned', { 'c.txt': 'c' }, 'on a branch', {
        branch: 'feature',
      });
      const source = new GitSource({ url: repo.url, cacheDir });

      expect(await source.resolve({ revision: pinned })).toBe(pinned);
      expect(await source.resolve({ revision: pinned.slice(0, 10).toUpperCase() })).toBe(pinned);
      await expectRejection(source.resolve({ revision: 'f'.repeat(40) }), GitRefNotFoundError);
      await expectRejection(source.resolve({ revision: 'v1.0' }), GitRefNotFoundError);

      const requests = own.requests().length;
      await own.stop();
      const offline = new GitSource({ url: repo.url, cacheDir });
      expect(await offline.resolve({ revision: pinned })).toBe(pinned);
      expect(text(await offline.tree(pinned).read('c.txt'))).toBe('c');
      expect(own.requests()).toHaveLength(requests);
    } finally {
      await own.stop();
    }
  });

  it('lists the paths two commits differ in', async () => {
    const repo = await server.createRepo('diff', {
      ...files,
      'apps/db/values.yaml': 'a: 1\n',
      'apps/cache/redis.yaml': 'kind: redis\n',
    });
    const source = new GitSource({ url: repo.url, cacheDir });
    const from = await source.resolve({ branch: 'main' });
    await server.commit('diff', {
      'apps/web/deployment.yaml': 'kind: Deployment\nreplicas: 2\n',
      'apps/db/values.yaml': null,
      'apps/new/one.yaml': '1',
      'apps/new/deep/two.yaml': '2',
      'apps/cache': null,
    });
    const to = await source.resolve({ branch: 'main' });

    const expected = [
      'apps/cache/redis.yaml',
      'apps/db/values.yaml',
      'apps/new/deep/two.yaml',
      'apps/new/one.yaml',
      'apps/web/deployment.yaml',
    ];
    expect(await source.changedPaths(from, to)).toEqual(expected);
    expect(await source.changedPaths(to, from)).toEqual(expected);
    expect(await source.changedPaths(to, to)).toEqual([]);
    await expectRejection(source.changedPaths(from, 'a'.repeat(40)), GitRefNotFoundError);
  });

  it('reports an unreachable server as retryable GitUnreachableError', async () => {
    const url = `http://127.0.0.1:${await freePort()}/gone.git`;
    const source = new GitSource({ url, cacheDir });

    const err = await expectRejection(source.resolve({ branch: 'main' }), GitUnreachableError);

    expect(err.retryable).toBe(true);
    expect(err).toBeInstanceOf(GitError);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('gives up on a server that stops sending (idle timeout) with GitUnreachableError', async () => {
    const silent = createServer((socket) => socket.on('data', () => undefined)); // never answers
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    try {
      const { port } = silent.address() as { port: number };
      const source = new GitSource({
        url: `http://127.0.0.1:${port}/slow.git`,
        cacheDir,
        idleTimeoutMs: 200,
      });

      const err = await expectRejection(source.resolve({ branch: 'main' }), GitUnreachableError);

      expect(err.message).toContain('ETIMEDOUT');
    } finally {
      silent.close();
    }
  });

  it('reports a missing repository as a non-retryable GitError', async () => {
    const source = new GitSource({ url: `${server.url}/missing.git`, cacheDir });

    const err = await expectRejection(source.resolve({ branch: 'main' }), GitError);

    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/repository not found \(HTTP 404/);
  });
});

describe('GitSource with authentication', () => {
  const password = 's3cr3t-Pa55';
  let authServer: GitServer;
  let url: string;

  beforeAll(async () => {
    authServer = await startGitServer({ auth: { username: 'flotilla', password } });
    ({ url } = await authServer.createRepo('private', files));
  });
  afterAll(async () => {
    await authServer.stop();
  });

  it.each([
    ['no credentials', undefined, undefined],
    ['a wrong password', { username: 'flotilla', password: 'wrong-Pa55' }, undefined],
    ['a wrong password in the URL', undefined, 'userinfo'],
  ])('rejects %s with GitAuthError and never leaks the password', async (_case, auth, form) => {
    const target =
      form === 'userinfo' ? url.replace('http://', 'http://flotilla:wrong-Pa55@') : url;
    const source = new GitSource({ url: target, cacheDir, ...(auth ? { auth } : {}) });

    const err = await expectRejection(source.resolve({ branch: 'main' }), GitAuthError);

    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/authentication failed \(HTTP 401/);
    expect(err.message).not.toContain(password);
    expect(err.message).not.toContain('wrong-Pa55');
    expect(JSON.stringify(err)).not.toContain('wrong-Pa55');
    expect(source.url).not.toContain('wrong-Pa55');
  });

  it.each([
    ['basic auth', 'auth'],
    ['credentials in the URL', 'userinfo'],
  ])('fetches with the right credentials given as %s', async (_case, form) => {
    const source =
      form === 'auth'
        ? new GitSource({ url, cacheDir, auth: { username: 'flotilla', password } })
        : new GitSource({ url: url.replace('http://', `http://flotilla:${password}@`), cacheDir });

    const sha = await source.resolve({ branch: 'main' });

    expect(text(await source.tree(sha).read('README.md'))).toBe('# demo\n');
    expect(source.url).toBe(url);
  });

  it('sends a token as a bearer header', async () => {
    const tokenServer = await startGitServer({ auth: { token: 'tok-123' } });
    try {
      const repo = await tokenServer.createRepo('token', files);
      const good = new GitSource({ url: repo.url, cacheDir, auth: { token: 'tok-123' } });
      const bad = new GitSource({ url: repo.url, cacheDir, auth: { token: 'tok-999' } });

      expect(await good.resolve({ branch: 'main' })).toMatch(/^[0-9a-f]{40}$/);
      const err = await expectRejection(bad.resolve({ branch: 'main' }), GitAuthError);
      expect(err.message).not.toContain('tok-999');
    } finally {
      await tokenServer.stop();
    }
  });
});

describe('GitSource over local repositories', () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileAsync(
      'git',
      ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args],
      { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } },
    );

  it('reads a bare repository in place through a file:// URL', async () => {
    const repo = await server.createRepo('local-bare', files);
    const source = new GitSource({ url: pathToFileURL(repo.bareDir).toString(), cacheDir });

    const sha = await source.resolve({ branch: 'main' });

    expect(source.kind).toBe('file');
    expect(source.cacheRepoDir).toBeUndefined();
    expect(text(await source.tree(sha).read('apps/db/statefulset.yaml'))).toBe(
      'kind: StatefulSet\n',
    );
    const next = await server.commit('local-bare', { 'README.md': 'v2' });
    expect(await source.resolve({ branch: 'main' })).toBe(next);
    expect(await source.changedPaths(sha, next)).toEqual(['README.md']);
    expect(await readdir(cacheDir)).toEqual([]); // nothing copied
    await expectRejection(source.resolve({ branch: 'nope' }), GitRefNotFoundError);
  });

  it('reads a non-bare repository (its .git) by plain absolute path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-git-nonbare-'));
    try {
      await git(dir, 'init', '--quiet', '--initial-branch=trunk');
      await mkdir(join(dir, 'charts', 'app'), { recursive: true });
      await writeFile(join(dir, 'charts', 'app', 'Chart.yaml'), 'name: app\n');
      await git(dir, 'add', '--all');
      await git(dir, 'commit', '--quiet', '-m', 'one');
      const { stdout } = await git(dir, 'rev-parse', 'HEAD');
      // An uncommitted change in the work tree is not visible: only commits are read.
      await writeFile(join(dir, 'charts', 'app', 'Chart.yaml'), 'dirty\n');

      const source = new GitSource({ url: dir, cacheDir });
      const sha = await source.resolve({ branch: 'trunk' });

      expect(sha).toBe(stdout.trim());
      expect(await source.tree(sha).list('charts')).toEqual([{ name: 'app', type: 'dir' }]);
      expect(text(await source.tree(sha).read('charts/app/Chart.yaml'))).toBe('name: app\n');
      expect(await source.resolve({ revision: sha.slice(0, 8) })).toBe(sha);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips symlinks and submodules and sorts listings by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-git-links-'));
    try {
      await git(dir, 'init', '--quiet', '--initial-branch=main');
      await writeFile(join(dir, 'real.yaml'), 'a: 1\n');
      await mkdir(join(dir, 'real'));
      await writeFile(join(dir, 'real', 'x.yaml'), 'x\n');
      await execFileAsync('ln', ['-s', 'real.yaml', join(dir, 'link.yaml')]);
      await git(dir, 'add', '--all');
      // A submodule entry (gitlink) without cloning anything.
      await git(dir, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendor`);
      await git(dir, 'commit', '--quiet', '-m', 'links');
      const source = new GitSource({ url: pathToFileURL(dir).toString(), cacheDir });
      const tree = source.tree(await source.resolve({ branch: 'main' }));

      // Sorted by name: git itself stores "real.yaml" before the directory "real".
      expect(await tree.list('')).toEqual([
        { name: 'real', type: 'dir' },
        { name: 'real.yaml', type: 'file' },
      ]);
      await expectRejection(tree.read('link.yaml'), GitPathNotFoundError);
      await expectRejection(tree.list('vendor'), GitPathNotFoundError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses local repositories when allowFileUrls is false, and ssh URLs always', () => {
    expect(
      () => new GitSource({ url: 'file:///srv/repo', cacheDir, allowFileUrls: false }),
    ).toThrow(/local repositories are not allowed/);
    expect(() => new GitSource({ url: '/srv/repo', cacheDir, allowFileUrls: false })).toThrow(
      GitError,
    );
    expect(() => new GitSource({ url: 'git@github.com:org/repo.git', cacheDir })).toThrow(
      /unsupported repository URL/,
    );
    expect(() => new GitSource({ url: 'ssh://git@github.com/org/repo', cacheDir })).toThrow(
      /scheme "ssh:"/,
    );
  });

  it('reports a directory that is not a repository', async () => {
    const source = new GitSource({ url: cacheDir, cacheDir });

    const err = await expectRejection(source.resolve({ branch: 'main' }), GitError);

    expect(err.message).toMatch(/not a git repository/);
  });
});

describe('cache compaction', () => {
  it('a cache past maxCachePacks is fetched afresh into one pack, and keeps resolving', async () => {
    await server.createRepo('compacted', { 'a.txt': '0' });
    const source = new GitSource({
      url: `${server.url}/compacted.git`,
      cacheDir,
      maxCachePacks: 3,
    });
    const packs = async () =>
      (await readdir(join(source.cacheRepoDir!, 'objects', 'pack'))).filter((n) =>
        n.endsWith('.pack'),
      ).length;
    await source.resolve({ branch: 'main' });
    const seen: number[] = [];
    let head = '';
    for (let i = 1; i <= 5; i++) {
      head = await server.commit('compacted', { 'a.txt': String(i) });
      expect(await source.resolve({ branch: 'main' })).toBe(head);
      seen.push(await packs());
    }
    // Packs grow by one per fetch until past the limit, then start over from one.
    expect(seen).toEqual([2, 3, 4, 1, 2]);
    const text = new TextDecoder().decode(await source.tree(head).read('a.txt'));
    expect(text).toBe('5');
  });
});

/** The pack directory of a cache repository (empty when it does not exist). */
async function packDir(gitdir: string): Promise<string[]> {
  return (await readdir(join(gitdir, 'objects', 'pack')).catch(() => [] as string[])).sort();
}

describe('fetch size limit (maxFetchBytes)', () => {
  // Random bytes as base64 hardly compress: a pack of about 1.5 MiB.
  const big = { 'apps/blob/data.txt': randomBytes(1_100_000).toString('base64') };

  it('a fetch past the limit stops with GitTooLargeError (not retryable) and leaves no pack in the cache', async () => {
    const repo = await server.createRepo('too-big', { ...files, ...big });
    const source = new GitSource({ url: repo.url, cacheDir, maxFetchBytes: 256 * 1024 });
    const err = await expectRejection(source.resolve({ branch: 'main' }), GitTooLargeError);
    expect(err.message).toMatch(
      /^fetching branch "main" from http:.*too-big\.git: the repository sent more than 256 KiB in one response.*FLOTILLA_GIT_MAX_BYTES/,
    );
    expect(err.retryable).toBe(false);
    expect(err.limitBytes).toBe(256 * 1024);
    expect((await packDir(source.cacheRepoDir!)).filter((n) => n.startsWith('pack'))).toEqual([]);
    // The same repository within a larger limit.
    const roomy = new GitSource({ url: repo.url, cacheDir, maxFetchBytes: 16 * 1024 * 1024 });
    expect(await roomy.resolve({ branch: 'main' })).toMatch(/^[0-9a-f]{40}$/);
  });

  it('a push past the limit keeps the cache of the last good fetch as it was', async () => {
    const repo = await server.createRepo('grows', files);
    const source = new GitSource({ url: repo.url, cacheDir, maxFetchBytes: 256 * 1024 });
    const first = await source.resolve({ branch: 'main' });
    const packsBefore = await packDir(source.cacheRepoDir!);
    await server.commit('grows', big);

    await expectRejection(source.resolve({ branch: 'main' }), GitTooLargeError);
    expect(await packDir(source.cacheRepoDir!)).toEqual(packsBefore);
    expect(text(await source.tree(first).read('README.md'))).toBe('# demo\n');
  });

  it('within the limit, fetches are unchanged', async () => {
    const repo = await server.createRepo('small', files);
    const source = new GitSource({ url: repo.url, cacheDir, maxFetchBytes: 64 * 1024 });
    const sha = await source.resolve({ branch: 'main' });
    expect(text(await source.tree(sha).read('apps/web/fleet.yaml'))).toBe(
      'defaultNamespace: web\n',
    );
  });
});
