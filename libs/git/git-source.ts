// One git repository as Flotilla reads it: resolve a branch or pinned revision to a commit, read
// files at a commit without a checkout, and list the paths two commits differ in.
//
// http(s) remotes are fetched incrementally into a bare cache repository (one per URL under
// `cacheDir`); local repositories (`file://` URLs or absolute paths) are read in place.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import git, { type TreeEntry } from 'isomorphic-git';
import {
  GitError,
  GitPathNotFoundError,
  GitRefNotFoundError,
  redactUrl,
  toGitError,
} from './errors.js';
import type { FileTree } from './file-tree.js';
import { createHttpClient } from './http-client.js';
import { confineToRoot } from './local-root.js';

/** Credentials for an http(s) remote: basic auth, or a token sent as `Authorization: Bearer`. */
export type GitCredentials = { username: string; password: string } | { token: string };

/** What to resolve: the tip of a branch, or a pinned commit sha (full, or abbreviated ≥ 4 hex). */
export type GitRef = { branch: string } | { revision: string };

/** Options of `GitSource`. */
export interface GitSourceOptions {
  /** `https://…`, `http://…`, `file:///…` or an absolute path. ssh remotes are not supported. */
  url: string;
  /** Directory for cache repositories of http(s) remotes (one bare repo per URL in it). */
  cacheDir: string;
  /** Credentials for http(s). Credentials in the URL (`https://user:pass@host/…`) work too. */
  auth?: GitCredentials;
  /** Whether `file://` URLs and local paths are accepted (default `true`). */
  allowFileUrls?: boolean;
  /**
   * When set, a local repository (and the git directory it points to) must be inside this
   * directory with symbolic links followed; checked at every `resolve`.
   */
  fileUrlRoot?: string;
  /** Abort an http(s) transfer when no bytes arrive for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Refetch the cache afresh once it holds more packs than this (default {@link MAX_CACHE_PACKS}). */
  maxCachePacks?: number;
  /**
   * Stop an http(s) transfer once one response passes this many bytes (`GitTooLargeError`);
   * what it left in the cache repository is removed. Default: no limit.
   */
  maxFetchBytes?: number;
}

const SHA_RE = /^[0-9a-f]{4,40}$/i;

/**
 * Every fetch that brings commits adds a pack, and each object read consults every pack index.
 * Past this many packs the cache repository is dropped and fetched afresh (one pack again).
 */
export const MAX_CACHE_PACKS = 32;

async function packCount(gitdir: string): Promise<number> {
  const names = await readdir(join(gitdir, 'objects', 'pack')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.pack')).length;
}

/** The names in a cache repository's pack directory. */
async function packFiles(gitdir: string): Promise<Set<string>> {
  return new Set(await readdir(join(gitdir, 'objects', 'pack')).catch(() => [] as string[]));
}

/** Removes what a failed fetch left in the pack directory (a partial or unindexed pack). */
async function removeNewPackFiles(gitdir: string, before: Set<string>): Promise<void> {
  for (const name of await packFiles(gitdir)) {
    if (!before.has(name)) await rm(join(gitdir, 'objects', 'pack', name), { force: true });
  }
}

// Fetches into one cache repository are serialised across all GitSource instances.
const locks = new Map<string, Promise<unknown>>();

async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.catch(() => undefined);
  locks.set(key, settled);
  try {
    return await run;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

function validBranch(branch: string): string {
  const name = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (
    name === '' ||
    name.startsWith('/') ||
    name.startsWith('-') ||
    name.endsWith('/') ||
    name.endsWith('.lock') ||
    name.includes('..') ||
    name.includes('//') ||
    name.includes('@{') ||
    /[\s~^:?*[\\]/.test(name) ||
    [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    throw new GitRefNotFoundError(`invalid branch name "${branch}"`);
  }
  return name;
}

function normalizeTreePath(path: string): string {
  const normalized = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, '');
  if (normalized.split('/').includes('..')) {
    throw new GitPathNotFoundError(path, `path "${path}" escapes the repository root`);
  }
  return normalized;
}

function cacheName(url: URL): string {
  const slug = `${url.host}${url.pathname}`
    .replace(/\.git\/?$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  const hash = createHash('sha256').update(url.toString()).digest('hex').slice(0, 12);
  return `${slug}-${hash}.git`;
}

/** The tree entry kinds `FileTree` shows: regular files (any mode) and directories. */
function entryType(entry: TreeEntry): 'file' | 'dir' | undefined {
  if (entry.type === 'tree') return 'dir';
  if (entry.type === 'blob' && entry.mode !== '120000') return 'file';
  return undefined; // symlink (120000) or submodule (160000, type 'commit'): skipped
}

/**
 * A git repository to read manifests from. For http(s) remotes `resolve` fetches incrementally
 * into a bare cache repository `<cacheDir>/<host-path>-<hash>.git` (created on first use, shared
 * by every `GitSource` with the same URL; fetches into it are serialised). Local repositories
 * (`file://` URLs and absolute paths, bare or with a `.git` directory) are read in place.
 *
 * The constructor throws a `GitError` for an unsupported URL (ssh, scp-like `git@host:path`,
 * relative paths) or a local URL when `allowFileUrls` is false.
 */
export class GitSource {
  /** The URL without credentials, for logs and messages. */
  readonly url: string;
  /** `http` for remotes fetched into the cache, `file` for repositories read in place. */
  readonly kind: 'http' | 'file';
  /** For http(s) remotes: the bare cache repository. Undefined for local repositories. */
  readonly cacheRepoDir: string | undefined;

  private readonly remoteUrl: string;
  private readonly localPath: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly http: ReturnType<typeof createHttpClient>;
  // isomorphic-git's object cache (parsed pack indexes); shared by all reads of this source.
  private cache: object = {};
  private readonly maxCachePacks: number;
  private readonly fileUrlRoot: string | undefined;
  private gitdirPromise: Promise<string> | undefined;

  constructor({
    url,
    cacheDir,
    auth,
    allowFileUrls = true,
    idleTimeoutMs = 60_000,
    maxCachePacks = MAX_CACHE_PACKS,
    fileUrlRoot,
    maxFetchBytes,
  }: GitSourceOptions) {
    this.http = createHttpClient({ idleTimeoutMs, maxBytes: maxFetchBytes });
    this.maxCachePacks = maxCachePacks;
    this.fileUrlRoot = fileUrlRoot;
    let parsed: URL | undefined;
    if (!isAbsolute(url)) {
      try {
        parsed = new URL(url);
      } catch {
        throw new GitError(
          `unsupported repository URL "${redactUrl(url)}": use https://, http://, file:// or an absolute path`,
        );
      }
    }
    if (parsed === undefined || parsed.protocol === 'file:') {
      if (!allowFileUrls) {
        throw new GitError(`local repositories are not allowed: "${redactUrl(url)}"`);
      }
      this.kind = 'file';
      this.localPath = parsed === undefined ? resolvePath(url) : fileURLToPath(parsed);
      this.url = parsed === undefined ? this.localPath : parsed.toString();
      this.remoteUrl = this.url;
      this.cacheRepoDir = undefined;
      this.headers = {};
      this.secrets = [];
      return;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new GitError(
        `unsupported repository URL scheme "${parsed.protocol}" in "${redactUrl(url)}": use https://, http://, file:// or an absolute path`,
      );
    }
    let credentials = auth;
    if (parsed.username !== '' || parsed.password !== '') {
      credentials ??= {
        username: decodeURIComponent(parsed.username),
        password: decodeURIComponent(parsed.password),
      };
      parsed.username = '';
      parsed.password = '';
    }
    this.kind = 'http';
    this.url = parsed.toString();
    this.remoteUrl = this.url;
    this.localPath = undefined;
    this.cacheRepoDir = join(resolvePath(cacheDir), cacheName(parsed));
    this.headers = {};
    this.secrets = [];
    if (credentials !== undefined) {
      if ('token' in credentials) {
        this.headers.Authorization = `Bearer ${credentials.token}`;
        this.secrets.push(credentials.token);
      } else {
        const basic = Buffer.from(`${credentials.username}:${credentials.password}`);
        this.headers.Authorization = `Basic ${basic.toString('base64')}`;
        this.secrets.push(credentials.password, basic.toString('base64'));
      }
    }
  }

  /**
   * The commit sha of `ref`. For a branch of an http(s) remote this fetches what is new since
   * the last call (single branch, no tags) into the cache repository. A pinned `revision`
   * already in the repository needs no network; otherwise all branches and tags are fetched
   * once to find it.
   *
   * @throws GitRefNotFoundError the branch or revision does not exist
   * @throws GitAuthError the server refused the credentials (401/403)
   * @throws GitUnreachableError network, DNS, timeout or server error (retryable)
   */
  async resolve(ref: GitRef): Promise<string> {
    // A local repository is located (and confined) afresh at every resolve: a symbolic link on
    // its path may have changed since.
    if (this.kind === 'file') this.gitdirPromise = undefined;
    if ('branch' in ref) {
      const branch = validBranch(ref.branch);
      return this.kind === 'file' ? this.resolveLocalBranch(branch) : this.fetchBranch(branch);
    }
    const revision = ref.revision.trim().toLowerCase();
    if (!SHA_RE.test(revision)) {
      throw new GitRefNotFoundError(
        `invalid revision "${ref.revision}": a pinned revision is a commit sha`,
      );
    }
    const gitdir = await this.gitdir();
    const present = await this.findCommit(gitdir, revision);
    if (present !== undefined) return present;
    if (this.kind === 'http') {
      await this.fetchAll(gitdir);
      const fetched = await this.findCommit(gitdir, revision);
      if (fetched !== undefined) return fetched;
    }
    throw new GitRefNotFoundError(`revision ${revision} not found in ${this.url}`);
  }

  /**
   * Files at `commit` (a full sha, normally from `resolve`), read from git objects without a
   * working checkout. Symbolic links and submodules are skipped: `list` omits them and `read`
   * rejects them as missing, since neither has file content in this commit.
   */
  tree(commit: string): FileTree {
    const listings = new Map<string, TreeEntry[]>();
    let root: Promise<string> | undefined;
    const rootTree = (): Promise<string> => (root ??= this.rootTreeOf(commit));
    const readTree = async (oid: string): Promise<TreeEntry[]> => {
      const known = listings.get(oid);
      if (known) return known;
      const { tree } = await git.readTree({
        fs,
        gitdir: await this.gitdir(),
        oid,
        cache: this.cache,
      });
      listings.set(oid, tree);
      return tree;
    };
    // The entry at `path` ('' = the root tree), or a GitPathNotFoundError.
    const lookup = async (path: string): Promise<TreeEntry> => {
      const normalized = normalizeTreePath(path);
      let entry: TreeEntry = { mode: '040000', path: '', oid: await rootTree(), type: 'tree' };
      if (normalized === '') return entry;
      const parts = normalized.split('/');
      for (const [i, name] of parts.entries()) {
        const walked = parts.slice(0, i).join('/');
        if (entry.type !== 'tree') {
          throw new GitPathNotFoundError(
            path,
            `"${walked}" is not a directory at commit ${commit}`,
            'ENOTDIR',
          );
        }
        const next = (await readTree(entry.oid)).find((e) => e.path === name);
        if (next === undefined || entryType(next) === undefined) {
          throw new GitPathNotFoundError(
            path,
            `no such file or directory "${normalized}" at commit ${commit}`,
          );
        }
        entry = next;
      }
      return entry;
    };
    return {
      list: async (dir) => {
        const entry = await this.wrap(`listing "${dir}"`, () => lookup(dir));
        if (entry.type !== 'tree') {
          throw new GitPathNotFoundError(
            dir,
            `"${dir}" is not a directory at commit ${commit}`,
            'ENOTDIR',
          );
        }
        const entries = await this.wrap(`listing "${dir}"`, () => readTree(entry.oid));
        const out: { name: string; type: 'file' | 'dir' }[] = [];
        for (const e of entries) {
          const type = entryType(e);
          if (type !== undefined) out.push({ name: e.path, type });
        }
        // Plain name order (git's own order sorts a directory "a" as "a/", after "a.b").
        return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      },
      read: async (path) => {
        const entry = await this.wrap(`reading "${path}"`, () => lookup(path));
        if (entry.type !== 'blob') {
          throw new GitPathNotFoundError(
            path,
            `"${path}" is a directory at commit ${commit}`,
            'EISDIR',
          );
        }
        const { blob } = await this.wrap(`reading "${path}"`, async () =>
          git.readBlob({ fs, gitdir: await this.gitdir(), oid: entry.oid, cache: this.cache }),
        );
        return blob;
      },
    };
  }

  /**
   * Paths (POSIX, sorted) of files added, removed or changed (content or mode) between commits
   * `from` and `to`. Unchanged subtrees are skipped by their hash, so the cost follows the size
   * of the change, not of the repository. Symlinks and submodules that changed are included.
   */
  async changedPaths(from: string, to: string): Promise<string[]> {
    const [a, b] = await Promise.all([this.rootTreeOf(from), this.rootTreeOf(to)]);
    const gitdir = await this.gitdir();
    const changed: string[] = [];
    const read = async (oid: string): Promise<TreeEntry[]> =>
      this.wrap('comparing commits', async () => {
        const { tree } = await git.readTree({ fs, gitdir, oid, cache: this.cache });
        return tree;
      });
    const allFiles = async (oid: string, prefix: string): Promise<void> => {
      for (const e of await read(oid)) {
        const path = `${prefix}${e.path}`;
        if (e.type === 'tree') await allFiles(e.oid, `${path}/`);
        else changed.push(path);
      }
    };
    const diff = async (left: string, right: string, prefix: string): Promise<void> => {
      if (left === right) return;
      const [l, r] = await Promise.all([read(left), read(right)]);
      const byName = new Map<string, [TreeEntry | undefined, TreeEntry | undefined]>();
      for (const e of l) byName.set(e.path, [e, undefined]);
      for (const e of r) byName.set(e.path, [byName.get(e.path)?.[0], e]);
      for (const [name, [x, y]] of byName) {
        const path = `${prefix}${name}`;
        if (x !== undefined && y !== undefined && x.oid === y.oid && x.mode === y.mode) continue;
        if (x?.type === 'tree' && y?.type === 'tree') {
          await diff(x.oid, y.oid, `${path}/`);
          continue;
        }
        for (const side of [x, y]) {
          if (side === undefined) continue;
          if (side.type === 'tree') await allFiles(side.oid, `${path}/`);
          else if (!changed.includes(path)) changed.push(path);
        }
      }
    };
    await diff(a, b, '');
    return [...new Set(changed)].sort();
  }

  // ---------------------------------------------------------------------------------------

  private gitdir(): Promise<string> {
    this.gitdirPromise ??= this.locate().catch((err: unknown) => {
      this.gitdirPromise = undefined; // a local repository may appear later
      throw err;
    });
    return this.gitdirPromise;
  }

  private async locate(): Promise<string> {
    if (this.cacheRepoDir !== undefined) {
      const dir = this.cacheRepoDir;
      await mkdir(dir, { recursive: true });
      await git.init({ fs, gitdir: dir, bare: true, defaultBranch: 'main' });
      // The fetch refspec (+refs/heads/*:refs/remotes/origin/*) tells isomorphic-git where to
      // store fetched branches. The URL carries no credentials; they go in headers.
      await git.addRemote({ fs, gitdir: dir, remote: 'origin', url: this.remoteUrl, force: true });
      return dir;
    }
    const path = this.confined(this.localPath ?? '');
    const dotGit = join(path, '.git');
    const dotGitStat = await stat(dotGit).catch(() => undefined);
    if (dotGitStat?.isDirectory()) return this.confined(dotGit);
    if (dotGitStat?.isFile()) {
      // A linked work tree or submodule: ".git" is a file "gitdir: <path>".
      const match = /^gitdir:\s*(.+)$/m.exec(await readFile(dotGit, 'utf8'));
      if (match?.[1]) return this.confined(resolvePath(path, match[1].trim()));
    }
    const [head, objects] = await Promise.all([
      stat(join(path, 'HEAD')).catch(() => undefined),
      stat(join(path, 'objects')).catch(() => undefined),
    ]);
    if (head?.isFile() && objects?.isDirectory()) return path;
    throw new GitError(`not a git repository: ${this.url}`);
  }

  /** `path` with symbolic links followed, when it is inside `fileUrlRoot` (or no root is set). */
  private confined(path: string): string {
    if (this.fileUrlRoot === undefined) return path;
    const result = confineToRoot(path, this.fileUrlRoot);
    if (!result.ok) throw new GitError(`local repository refused: ${result.reason}`);
    return result.realPath;
  }

  private async wrap<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toGitError(err, { action: `${action} in ${this.url}`, secrets: this.secrets });
    }
  }

  private async rootTreeOf(commit: string): Promise<string> {
    const gitdir = await this.gitdir();
    try {
      const { commit: object } = await git.readCommit({
        fs,
        gitdir,
        oid: commit,
        cache: this.cache,
      });
      return object.tree;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'NotFoundError' || code === 'ObjectTypeError' || code === 'InvalidOidError') {
        throw new GitRefNotFoundError(
          `commit ${commit} is not in ${this.url} (resolve a ref to fetch it first)`,
        );
      }
      throw toGitError(err, { action: `reading commit ${commit} in ${this.url}` });
    }
  }

  private async findCommit(gitdir: string, revision: string): Promise<string | undefined> {
    try {
      const oid =
        revision.length === 40
          ? revision
          : await git.expandOid({ fs, gitdir, oid: revision, cache: this.cache });
      await git.readCommit({ fs, gitdir, oid, cache: this.cache });
      return oid;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'NotFoundError' || code === 'ObjectTypeError') return undefined;
      if (code === 'AmbiguousError') {
        throw new GitRefNotFoundError(`revision ${revision} is ambiguous in ${this.url}`);
      }
      throw toGitError(err, { action: `looking up revision ${revision} in ${this.url}` });
    }
  }

  private async resolveLocalBranch(branch: string): Promise<string> {
    const gitdir = await this.gitdir();
    try {
      return await git.resolveRef({ fs, gitdir, ref: `refs/heads/${branch}` });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'NotFoundError') {
        throw new GitRefNotFoundError(`branch "${branch}" not found in ${this.url}`);
      }
      throw toGitError(err, { action: `resolving branch "${branch}" in ${this.url}` });
    }
  }

  private async fetchBranch(branch: string): Promise<string> {
    let gitdir = await this.gitdir();
    return withLock(gitdir, async () => {
      if ((await packCount(gitdir)) > this.maxCachePacks) {
        await rm(gitdir, { recursive: true, force: true });
        this.gitdirPromise = undefined;
        this.cache = {};
        gitdir = await this.gitdir();
      }
      const packsBefore = await packFiles(gitdir);
      try {
        const result = await git.fetch({
          fs,
          http: this.http,
          gitdir,
          url: this.remoteUrl,
          // `ref` names the local ref whose commit is offered as "have", so the server sends
          // only what is new; `remoteRef` is the branch on the server.
          ref: `refs/remotes/origin/${branch}`,
          remoteRef: `refs/heads/${branch}`,
          singleBranch: true,
          tags: false,
          headers: { ...this.headers },
          cache: this.cache,
        });
        if (result.fetchHead === null) {
          throw new GitRefNotFoundError(
            `branch "${branch}" not found in ${this.url} (the repository is empty)`,
          );
        }
        return result.fetchHead;
      } catch (err) {
        await removeNewPackFiles(gitdir, packsBefore);
        if ((err as { code?: unknown }).code === 'NotFoundError') {
          throw new GitRefNotFoundError(`branch "${branch}" not found in ${this.url}`);
        }
        throw toGitError(err, {
          action: `fetching branch "${branch}" from ${this.url}`,
          secrets: this.secrets,
        });
      }
    });
  }

  private async fetchAll(gitdir: string): Promise<void> {
    await withLock(gitdir, async () => {
      const packsBefore = await packFiles(gitdir);
      try {
        await git.fetch({
          fs,
          http: this.http,
          gitdir,
          url: this.remoteUrl,
          ref: 'HEAD',
          remoteRef: 'HEAD',
          singleBranch: false,
          tags: true,
          headers: { ...this.headers },
          cache: this.cache,
        });
      } catch (err) {
        await removeNewPackFiles(gitdir, packsBefore);
        // No remote HEAD (empty repository or dangling default branch): nothing to search.
        if ((err as { code?: unknown }).code === 'NotFoundError') return;
        throw toGitError(err, { action: `fetching from ${this.url}`, secrets: this.secrets });
      }
    });
  }
}
