// The read-only view of a Git checkout that bundle discovery and rendering need. Paths are POSIX,
// relative to the repository root, '' is the root itself.
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';

/** One entry of a directory listing. */
export interface TreeEntry {
  name: string;
  type: 'file' | 'dir';
}

/** A read-only file tree (a Git commit, a directory on disk, an in-memory map). */
export interface FileTree {
  /** Entries of `dir`, sorted by name; rejects with a clear error when `dir` does not exist. */
  list(dir: string): Promise<TreeEntry[]>;
  /** Content of the file at `path`; rejects when it does not exist or is a directory. */
  read(path: string): Promise<Uint8Array>;
}

/**
 * Normalizes a tree path: POSIX separators, no leading/trailing slash, no `.` segments, `''`
 * for the root. Throws for absolute paths and for `..` segments that would leave the root.
 */
export function normalizeTreePath(path: string): string {
  const slashed = path.replaceAll('\\', '/');
  if (slashed.startsWith('/')) throw new Error(`path ${JSON.stringify(path)} must be relative`);
  const normal = posix.normalize(slashed === '' ? '.' : slashed);
  if (normal === '..' || normal.startsWith('../')) {
    throw new Error(`path ${JSON.stringify(path)} leaves the repository root`);
  }
  const trimmed = normal.replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

function compareNames(a: TreeEntry, b: TreeEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A file tree held in memory, built from `{ 'apps/web/deploy.yaml': '...' }`; for tests. */
export class MemoryTree implements FileTree {
  private readonly files = new Map<string, Uint8Array>();
  private readonly dirs = new Map<string, Map<string, 'file' | 'dir'>>([['', new Map()]]);

  constructor(files: Record<string, string | Uint8Array>) {
    for (const [rawPath, content] of Object.entries(files)) {
      const path = normalizeTreePath(rawPath);
      if (path === '') throw new Error('MemoryTree: a file cannot be the root');
      if (this.dirs.has(path))
        throw new Error(`MemoryTree: ${path} is both a file and a directory`);
      this.files.set(
        path,
        typeof content === 'string' ? new TextEncoder().encode(content) : content,
      );
      const segments = path.split('/');
      let parent = '';
      segments.forEach((segment, i) => {
        const isFile = i === segments.length - 1;
        const child = parent === '' ? segment : `${parent}/${segment}`;
        const entries = this.dirs.get(parent);
        if (entries === undefined) throw new Error(`MemoryTree: ${parent} is not a directory`);
        const existing = entries.get(segment);
        if (existing !== undefined && existing !== (isFile ? 'file' : 'dir')) {
          throw new Error(`MemoryTree: ${child} is both a file and a directory`);
        }
        entries.set(segment, isFile ? 'file' : 'dir');
        if (!isFile && !this.dirs.has(child)) this.dirs.set(child, new Map());
        parent = child;
      });
    }
  }

  list(dir: string): Promise<TreeEntry[]> {
    try {
      const path = normalizeTreePath(dir);
      const entries = this.dirs.get(path);
      if (entries === undefined) {
        const what = this.files.has(path) ? 'is a file, not a directory' : 'does not exist';
        throw new Error(`directory ${JSON.stringify(path)} ${what}`);
      }
      return Promise.resolve(
        [...entries].map(([name, type]) => ({ name, type })).sort(compareNames),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  read(path: string): Promise<Uint8Array> {
    try {
      const normal = normalizeTreePath(path);
      const content = this.files.get(normal);
      if (content === undefined) {
        const what = this.dirs.has(normal) ? 'is a directory' : 'does not exist';
        throw new Error(`file ${JSON.stringify(normal)} ${what}`);
      }
      return Promise.resolve(content);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/**
 * A file tree over a directory on disk. Symbolic links and special files are not listed (a Git
 * checkout's links could point outside the tree), and paths cannot leave `rootDir`.
 */
export class DiskTree implements FileTree {
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = resolve(rootDir);
  }

  /** The real path of `path` under the root; rejects when a symbolic link leads outside it. */
  private async inside(path: string): Promise<string> {
    const [root, real] = await Promise.all([
      realpath(this.rootDir),
      realpath(join(this.rootDir, path)),
    ]);
    if (real !== root && !real.startsWith(root + sep)) {
      throw new Error(`path ${JSON.stringify(path)} leads outside the tree`);
    }
    return real;
  }

  async list(dir: string): Promise<TreeEntry[]> {
    const path = normalizeTreePath(dir);
    let entries: Dirent[];
    try {
      entries = await readdir(await this.inside(path), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const what =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'ENOTDIR'
            ? 'is a file, not a directory'
            : (err as Error).message;
      throw new Error(`directory ${JSON.stringify(path)} ${what}`, { cause: err });
    }
    return entries
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .map((entry): TreeEntry => ({ name: entry.name, type: entry.isFile() ? 'file' : 'dir' }))
      .sort(compareNames);
  }

  async read(path: string): Promise<Uint8Array> {
    const normal = normalizeTreePath(path);
    const full = join(this.rootDir, normal);
    const info = await lstat(full).catch((err: unknown) => {
      throw new Error(`file ${JSON.stringify(normal)} does not exist`, { cause: err });
    });
    if (!info.isFile()) throw new Error(`file ${JSON.stringify(normal)} is not a regular file`);
    return new Uint8Array(await readFile(await this.inside(normal)));
  }
}
