import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskTree, MemoryTree, normalizeTreePath, type FileTree } from './file-tree.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-tree-'));
  await mkdir(join(dir, 'apps/web'), { recursive: true });
  await writeFile(join(dir, 'apps/web/a.yaml'), 'a');
  await writeFile(join(dir, 'top.txt'), 't');
  await symlink('/etc', join(dir, 'apps/link'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const trees: [string, () => FileTree][] = [
  ['MemoryTree', () => new MemoryTree({ 'apps/web/a.yaml': 'a', 'top.txt': 't' })],
  ['DiskTree', () => new DiskTree(dir)],
];

describe.each(trees)('%s', (_name, make) => {
  it('lists the root and subdirectories, sorted, without links', async () => {
    const tree = make();
    expect(await tree.list('')).toEqual([
      { name: 'apps', type: 'dir' },
      { name: 'top.txt', type: 'file' },
    ]);
    expect(await tree.list('apps')).toEqual([{ name: 'web', type: 'dir' }]);
  });
  it('reads files', async () => {
    expect(new TextDecoder().decode(await make().read('apps/web/a.yaml'))).toBe('a');
  });
  it.each([
    ['a missing directory', (t: FileTree) => t.list('nope'), 'directory "nope" does not exist'],
    ['a file as a directory', (t: FileTree) => t.list('top.txt'), 'is a file, not a directory'],
    ['a missing file', (t: FileTree) => t.read('apps/x.yaml'), 'file "apps/x.yaml"'],
    ['a path leaving the root', (t: FileTree) => t.list('../x'), 'leaves the repository root'],
  ])('rejects %s', async (_case, op, message) => {
    await expect(op(make())).rejects.toThrow(message);
  });
});

it('DiskTree does not follow links out of the tree', async () => {
  await expect(new DiskTree(dir).list('apps/link')).rejects.toThrow('leads outside the tree');
});

it.each([
  ['', ''],
  ['.', ''],
  ['./apps/', 'apps'],
  ['apps//web/../api', 'apps/api'],
])('normalizeTreePath(%j) is %j', (input, output) => {
  expect(normalizeTreePath(input)).toBe(output);
});
