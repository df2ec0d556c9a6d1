import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverBundles } from './discover.js';
import { BundleError } from './errors.js';
import { DiskTree } from './file-tree.js';
import { KUSTOMIZE_FLAGS, renderVariant } from './render.js';
import { resolveTool } from './tools.js';

// testdata/confined, copied into a temp dir next to files outside the repository that
// symbolic links in the checkout point at.
let temp: string;
let tree: DiskTree;
beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'flotilla-confined-'));
  const root = join(temp, 'repo');
  await cp(fileURLToPath(new URL('testdata/confined', import.meta.url)), root, {
    recursive: true,
  });
  const outside = join(temp, 'outside');
  await mkdir(outside);
  await writeFile(
    join(outside, 'secret.yaml'),
    'apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\nstringData: {a: b}\n',
  );
  await writeFile(join(outside, 'kustomization.yaml'), 'resources: [secret.yaml]\n');
  await mkdir(join(root, 'apps/linked-file'));
  await writeFile(join(root, 'apps/linked-file/kustomization.yaml'), 'resources: [secret.yaml]\n');
  await symlink(join(outside, 'secret.yaml'), join(root, 'apps/linked-file/secret.yaml'));
  await mkdir(join(root, 'apps/linked-dir'));
  await writeFile(join(root, 'apps/linked-dir/kustomization.yaml'), 'resources: [base]\n');
  await symlink(outside, join(root, 'apps/linked-dir/base'));
  // A link at the repository root, outside the bundle, leading out of the checkout.
  await symlink(outside, join(root, 'outside-link'));
  await mkdir(join(root, 'apps/linked-out'));
  await writeFile(
    join(root, 'apps/linked-out/kustomization.yaml'),
    'resources: [../../outside-link]\n',
  );
  tree = new DiskTree(root);
});
afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

type Outcome = { objects: string[] } | { error: string };

async function renderAll(tools = {}): Promise<Record<string, Outcome>> {
  const { bundles, errors } = await discoverBundles(tree, 'demo', ['apps']);
  expect(errors).toEqual([]);
  const out: Record<string, Outcome> = {};
  for (const bundle of bundles) {
    try {
      const objects = await renderVariant(
        tree,
        bundle,
        { customizations: [], substitution: {} },
        tools,
      );
      out[bundle.name] = {
        objects: objects.map((o) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`),
      };
    } catch (err) {
      expect(err).toBeInstanceOf(BundleError);
      expect((err as BundleError).bundle).toBe(bundle.name);
      out[bundle.name] = { error: (err as BundleError).message };
    }
  }
  return out;
}

describe('rendering stays inside the repository checkout (real kubectl kustomize)', () => {
  it('refuses remote bases, escaping references and symlinks out of the checkout on their bundle only; the sibling still renders', async () => {
    expect(await renderAll()).toEqual({
      'demo/web': { objects: ['Deployment/web'] },
      'demo/remote-base': {
        error:
          'demo/remote-base: apps/remote-base/kustomization.yaml resources[0]: "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v1.0.6" is a URL; a bundle renders only from its own files',
      },
      'demo/escape': {
        error:
          'demo/escape: apps/escape/kustomization.yaml resources[0]: "../../../etc" leaves the repository',
      },
      // A Kustomization elsewhere in the repository is used as a base (issue 13, section 3).
      'demo/sibling': { objects: ['Deployment/web'] },
      'demo/linked-file': {
        error:
          'demo/linked-file: apps/linked-file/kustomization.yaml resources[0]: "secret.yaml" does not exist in the repository',
      },
      'demo/linked-dir': {
        error:
          'demo/linked-dir: apps/linked-dir/kustomization.yaml resources[0]: "base" does not exist in the repository',
      },
      'demo/linked-out': {
        error:
          'demo/linked-out: apps/linked-out/kustomization.yaml resources[0]: "../../outside-link" does not exist in the repository',
      },
    });
  });

  it('runs kubectl kustomize root-only, without plugins, Helm or network', async () => {
    const kubectl = await resolveTool('kubectl');
    const wrapper = join(temp, 'kubectl-wrapper');
    await writeFile(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$@" > '${temp}/args'\nenv > '${temp}/env'\nexec '${kubectl}' "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    const outcome = await renderAll({ kubectl: wrapper });
    expect(outcome['demo/web']).toEqual({ objects: ['Deployment/web'] });
    const args = (await readFile(join(temp, 'args'), 'utf8')).trim().split('\n');
    expect(args.slice(0, -1)).toEqual(['kustomize', ...KUSTOMIZE_FLAGS]);
    const env = (await readFile(join(temp, 'env'), 'utf8')).split('\n');
    expect(env).toEqual(
      expect.arrayContaining([
        'HTTPS_PROXY=http://127.0.0.1:9',
        'HTTP_PROXY=http://127.0.0.1:9',
        'GIT_ALLOW_PROTOCOL=none',
      ]),
    );
  });
});
