import { Command } from 'commander';
import { ApiClient, ApiError } from '../api-client.js';
import {
  CONTEXT_NAME,
  configPath,
  contextNameFor,
  findContext,
  readConfig,
  upsertContext,
  writeConfig,
} from '../config-file.js';
import { DEFAULT_SERVER, globalOptions, type CliContext } from '../context.js';
import { printResult } from '../output.js';

/** Reads all of stdin (for `login --token-stdin`). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The value of `key` when typed on the command line or given by its environment variable. */
function explicit(cmd: Command, key: string): string | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const source = c.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') {
      const v: unknown = c.getOptionValue(key);
      if (typeof v === 'string' && v !== '') return v;
    }
  }
  return undefined;
}

/**
 * `flotilla login`: checks a server and token and stores them as a context of the configuration
 * file (made the current context).
 */
export function loginCommand(ctx: CliContext): Command {
  return new Command('login')
    .description(
      'store a hub URL and API token as a context of ~/.config/flotilla/config.yaml (mode 0600) and make it current',
    )
    .option('--name <context>', 'context name (default: host-port of the server)')
    .option('--token-stdin', 'read the token from standard input')
    .option('--no-verify', 'store without checking the token against the hub')
    .action(
      async (opts: { name?: string; tokenStdin?: boolean; verify: boolean }, cmd: Command) => {
        const server = explicit(cmd, 'server') ?? DEFAULT_SERVER;
        let token = explicit(cmd, 'token');
        if (opts.tokenStdin) token = (await readStdin()).trim();
        if (!token) {
          throw new Error('give the API token with --token, FLOTILLA_TOKEN or --token-stdin');
        }
        const name = opts.name ?? contextNameFor(new ApiClient(server).server);
        if (!CONTEXT_NAME.test(name)) {
          throw new Error(
            `invalid context name "${name}": letters, digits, ".", "_" and "-", at most 63`,
          );
        }
        const client = new ApiClient(server, token, { fetch: ctx.fetch });
        if (opts.verify) {
          try {
            await client.get('/clusters', { limit: 1 });
          } catch (err) {
            if (err instanceof ApiError && (err.statusCode === 401 || err.statusCode === 403)) {
              throw new Error(`the hub at ${client.server} refused the token: ${err.message}`, {
                cause: err,
              });
            }
            throw err;
          }
        }
        const path = configPath(ctx.env);
        const config = upsertContext(await readConfig(path), {
          name,
          server: client.server,
          token,
        });
        await writeConfig(path, config);
        ctx.stdout.write(
          `Logged in to ${client.server} as context "${name}" (now current), saved in ${path}\n`,
        );
      },
    );
}

/** `flotilla context list|use|delete`: the contexts of the configuration file. */
export function contextCommand(ctx: CliContext): Command {
  const context = new Command('context').description(
    'list, switch and delete the hub contexts stored by `flotilla login`',
  );

  context
    .command('list')
    .description('list contexts; * marks the current one')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const config = await readConfig(configPath(ctx.env));
      const items = config.contexts.map((c) => ({
        name: c.name,
        server: c.server,
        current: c.name === config.currentContext,
        hasToken: c.token !== undefined,
      }));
      printResult(
        output,
        { currentContext: config.currentContext ?? null, items },
        {
          columns: ['CURRENT', 'NAME', 'SERVER', 'TOKEN'],
          rows: items.map((c) => [
            c.current ? '*' : '',
            c.name,
            c.server,
            c.hasToken ? 'yes' : 'no',
          ]),
          empty: 'No contexts: run `flotilla login --server URL --token TOKEN`.',
          kind: 'context',
          names: items.map((c) => c.name),
        },
        ctx.stdout,
      );
    });

  context
    .command('use')
    .description('make a context the current one')
    .argument('<name>', 'context name')
    .action(async (name: string) => {
      const path = configPath(ctx.env);
      const config = await readConfig(path);
      if (!findContext(config, name)) {
        const known = config.contexts.map((c) => c.name).join(', ') || 'none';
        throw new Error(`no context "${name}" in ${path} (contexts: ${known})`);
      }
      await writeConfig(path, { ...config, currentContext: name });
      ctx.stdout.write(`Switched to context "${name}".\n`);
    });

  context
    .command('delete')
    .description('remove a context and its token from the configuration file')
    .argument('<name>', 'context name')
    .action(async (name: string) => {
      const path = configPath(ctx.env);
      const config = await readConfig(path);
      if (!findContext(config, name)) throw new Error(`no context "${name}" in ${path}`);
      await writeConfig(path, {
        currentContext: config.currentContext === name ? undefined : config.currentContext,
        contexts: config.contexts.filter((c) => c.name !== name),
      });
      ctx.stdout.write(`Deleted context "${name}".\n`);
    });

  return context;
}
