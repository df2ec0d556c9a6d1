import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confineToRoot } from './local-root.js';

// A scratch tree:  <base>/root/{repo, link-in -> root/repo, link-out -> <base>/outside}
//                  <base>/outside,  <base>/root-link -> root
let base: string;
let root: string;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'flotilla-local-root-')));
  root = join(base, 'root');
  mkdirSync(join(root, 'repo'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  symlinkSync(join(root, 'repo'), join(root, 'link-in'));
  symlinkSync(join(base, 'outside'), join(root, 'link-out'));
  symlinkSync(root, join(base, 'root-link'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('confineToRoot', () => {
  it.each<[string, () => [string, string], () => string]>([
    ['a repository in the root', () => [join(root, 'repo'), root], () => join(root, 'repo')],
    ['the root itself', () => [root, root], () => root],
    [
      'a path that does not exist yet, judged by its existing ancestor',
      () => [join(root, 'later', 'repo.git'), root],
      () => join(root, 'later', 'repo.git'),
    ],
    [
      'a symbolic link that stays inside, resolved',
      () => [join(root, 'link-in'), root],
      () => join(root, 'repo'),
    ],
    [
      'a root named through a symbolic link',
      () => [join(root, 'repo'), join(base, 'root-link')],
      () => join(root, 'repo'),
    ],
    [
      '.. that comes back inside',
      () => [join(root, 'repo', '..', 'repo'), root],
      () => join(root, 'repo'),
    ],
  ])('accepts %s', (_behaviour, args, expected) => {
    const [path, r] = args();
    expect(confineToRoot(path, r)).toEqual({ ok: true, realPath: expected() });
  });

  it.each<[string, () => [string, string], RegExp]>([
    ['a directory next to the root', () => [join(base, 'outside'), root], /is outside/],
    ['.. out of the root', () => [join(root, '..', 'outside'), root], /is outside/],
    ['a symbolic link out of the root', () => [join(root, 'link-out'), root], /is outside/],
    [
      'a path below a symbolic link out of the root',
      () => [join(root, 'link-out', 'repo.git'), root],
      /is outside/,
    ],
    ['/proc/self/cwd (the hub’s working directory)', () => ['/proc/self/cwd', root], /is outside/],
    ['the rest of the disk', () => ['/etc', root], /is outside/],
    ['a directory whose name starts like the root', () => [`${root}-other`, root], /is outside/],
    ['anything, when the root does not exist', () => [root, join(base, 'nope')], /does not exist/],
  ])('refuses %s', (_behaviour, args, reason) => {
    const [path, r] = args();
    const result = confineToRoot(path, r);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});
