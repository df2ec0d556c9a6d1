import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** One hub the CLI knows: where it is and the API token to use there. */
export interface CliContextEntry {
  name: string;
  server: string;
  token?: string;
}

/** The CLI's configuration file (`flotilla login` writes it, every command reads it). */
export interface CliConfig {
  currentContext?: string;
  contexts: CliContextEntry[];
}

const fileSchema = z
  .strictObject({
    'current-context': z.string().optional(),
    contexts: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          server: z.string().min(1),
          token: z.string().optional(),
        }),
      )
      .default([]),
  })
  .nullish();

/** A context name: what `--context` and `context use` accept. */
export const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Where the configuration file is: `FLOTILLA_CONFIG` when set, else
 * `$XDG_CONFIG_HOME/flotilla/config.yaml`, else `~/.config/flotilla/config.yaml`.
 */
export function configPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.FLOTILLA_CONFIG) return env.FLOTILLA_CONFIG;
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 'flotilla', 'config.yaml');
}

/** Reads the configuration; a missing file is an empty configuration. */
export async function readConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw err;
  }
  return parseConfig(path, text);
}

/** {@link readConfig}, synchronously (commands read it before they run, also under `parse`). */
export function readConfigSync(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw err;
  }
  return parseConfig(path, text);
}

/** The `yaml` package, loaded when a configuration file is there to read or write. */
function yaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

function parseConfig(path: string, text: string): CliConfig {
  let raw: unknown;
  try {
    raw = yaml().parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${path}: ${issue?.path.join('.') || '(file)'}: ${issue?.message ?? 'invalid'} (expected current-context and contexts: [{name, server, token}])`,
    );
  }
  return {
    currentContext: parsed.data?.['current-context'],
    contexts: parsed.data?.contexts ?? [],
  };
}

/**
 * Writes the configuration readable by its owner only (mode 0600, in a 0700 directory when it
 * creates one), replacing the file at once so a reader never sees half of it.
 */
export async function writeConfig(path: string, config: CliConfig): Promise<void> {
  const doc: Record<string, unknown> = {};
  if (config.currentContext !== undefined) doc['current-context'] = config.currentContext;
  doc.contexts = config.contexts.map((c) => ({
    name: c.name,
    server: c.server,
    ...(c.token !== undefined ? { token: c.token } : {}),
  }));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, yaml().stringify(doc), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** The context named `name`, or the current one when `name` is undefined. */
export function findContext(config: CliConfig, name?: string): CliContextEntry | undefined {
  const wanted = name ?? config.currentContext;
  if (wanted === undefined) return undefined;
  return config.contexts.find((c) => c.name === wanted);
}

/** `config` with `entry` added or replacing the context of the same name, and made current. */
export function upsertContext(config: CliConfig, entry: CliContextEntry): CliConfig {
  const others = config.contexts.filter((c) => c.name !== entry.name);
  const index = config.contexts.findIndex((c) => c.name === entry.name);
  const contexts = [...others];
  contexts.splice(index === -1 ? contexts.length : index, 0, entry);
  return { currentContext: entry.name, contexts };
}

/** A context name for a server URL: its host and port, e.g. `localhost-8080`. */
export function contextNameFor(server: string): string {
  const url = new URL(server);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}-${port}`
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
}
