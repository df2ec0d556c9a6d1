// Local repositories (`file://` URLs) are confined to one directory the operator names: the path
// is resolved with every symbolic link followed (realpath) before it is compared, so neither
// `..`, nor `/proc/self/cwd`, nor a symlink inside the directory leads out of it.
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/** The real path of `path`: its longest existing ancestor resolved, the rest appended as given. */
function realpathOfExisting(path: string): string {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      return join(realpathSync.native(current), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(current);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw err;
      missing.push(current.slice(parent.length).replace(/^\/+/, ''));
      current = parent;
    }
  }
}

/** Whether `child` is `root` or below it (both real, absolute paths). */
function isWithin(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Resolves a local repository path inside `root`: returns its real path, or a sentence saying
 * why it is refused (outside the root, or the root itself does not exist). A path that does
 * not exist yet is judged by its nearest existing ancestor.
 */
export function confineToRoot(
  path: string,
  root: string,
): { ok: true; realPath: string } | { ok: false; reason: string } {
  let realRoot: string;
  try {
    realRoot = realpathSync.native(root);
  } catch {
    return { ok: false, reason: `the directory for local repositories (${root}) does not exist` };
  }
  let realPath: string;
  try {
    realPath = realpathOfExisting(path);
  } catch (err) {
    return {
      ok: false,
      reason: `${path} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    };
  }
  if (!isWithin(realRoot, realPath)) {
    return {
      ok: false,
      reason: `${path} is outside ${realRoot} (symbolic links followed), the only directory local repositories may be in`,
    };
  }
  return { ok: true, realPath };
}
