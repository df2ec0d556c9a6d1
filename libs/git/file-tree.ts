/**
 * Read-only view of the files of one commit (or a directory on disk). Paths are POSIX, relative
 * to the repository root, `''` is the root. A missing path rejects with an error whose `code`
 * is `ENOENT` (`ENOTDIR`/`EISDIR` for the wrong kind). Declared here as well as in
 * `libs/bundles/file-tree.ts`; the two are structurally identical.
 */
export interface FileTree {
  /** Entries of directory `dir`, sorted by name (UTF-16 code unit order, like `<`). */
  list(dir: string): Promise<{ name: string; type: 'file' | 'dir' }[]>;
  /** Content of file `path`. */
  read(path: string): Promise<Uint8Array>;
}
