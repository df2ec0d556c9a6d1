import { Command, Option } from 'commander';
import { ApiClient } from './api-client.js';
import { findContext, type CliConfig } from './config-file.js';
import { outputFormats, type OutputFormat, type Writer } from './output.js';

/** The server used when neither `--server` nor `FLOTILLA_SERVER` is given. */
export const DEFAULT_SERVER = 'http://localhost:8080';

/** What commands need from their surroundings; tests replace the streams, fetch and clock. */
export interface CliContext {
  stdout: Writer;
  stderr: Writer;
  /** The fetch used by API clients; default the global fetch. */
  fetch?: typeof fetch;
  /** The current time in ms, for relative times such as `3s ago`. */
  now: () => number;
  /** The environment (`FLOTILLA_CONFIG`, `XDG_CONFIG_HOME`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Ends `--watch` loops (tests); without it they run until the process is stopped. */
  stop?: AbortSignal;
}

/** The configuration file read before the command ran, per program (see {@link attachConfig}). */
const configs = new WeakMap<Command, CliConfig>();

/** Makes `config` (the CLI's configuration file) what {@link globalOptions} falls back to. */
export function attachConfig(program: Command, config: CliConfig): void {
  configs.set(program, config);
}

/** The configuration attached to the program `cmd` belongs to, if any. */
export function attachedConfig(cmd: Command): CliConfig | undefined {
  let root = cmd;
  while (root.parent) root = root.parent;
  return configs.get(root);
}

/** The options every command takes, resolved: `--server`, `--token`, `-o`. */
export interface GlobalOptions {
  server: string;
  token?: string;
  output: OutputFormat;
  /** The context of the configuration file the server and token came from, if one did. */
  context?: string;
}

/** Fresh definitions of the global options (commander options cannot be shared). */
export function globalOptionDefinitions(): Option[] {
  return [
    new Option(
      '--server <url>',
      `URL of the Flotilla hub (default: the current context's, else ${DEFAULT_SERVER})`,
    ).env('FLOTILLA_SERVER'),
    new Option(
      '--token <token>',
      'API token, sent as "Authorization: Bearer" (default: the current context\'s)',
    ).env('FLOTILLA_TOKEN'),
    new Option(
      '--context <name>',
      'context of the configuration file to use (see `flotilla context list`)',
    ).env('FLOTILLA_CONTEXT'),
    new Option('-o, --output <format>', 'output format').choices(outputFormats).default('table'),
  ];
}

/**
 * Adds `--server`, `--token` and `-o, --output` to `cmd` when it has an action, and to every
 * command below it that has no subcommands of its own. A command that already defines one of
 * these flags (e.g. an agent's own `--token`) keeps its definition. Returns `cmd`.
 */
export function withGlobalOptions(cmd: Command): Command {
  if (cmd.commands.length === 0) {
    for (const option of globalOptionDefinitions()) {
      const taken = cmd.options.some(
        (o) =>
          (option.long && o.long === option.long) || (option.short && o.short === option.short),
      );
      if (!taken) cmd.addOption(option);
    }
  }
  for (const sub of cmd.commands) withGlobalOptions(sub);
  return cmd;
}

/**
 * Resolves the global options for the command being run. For each option, the nearest command
 * (the leaf itself, then its parents up to the program) where it was typed on the command line
 * wins, then its environment variable (`FLOTILLA_SERVER`, `FLOTILLA_TOKEN`); `--server` and
 * `--token` then come from the context of the configuration file (`--context`, else its
 * current context), and last from the defaults. A token from a context is used only with
 * that context's server.
 */
export function globalOptions(cmd: Command): GlobalOptions {
  const value = (key: 'server' | 'token' | 'output' | 'context'): unknown => {
    for (let c: Command | null = cmd; c; c = c.parent) {
      if (c.getOptionValueSource(key) === 'cli') return c.getOptionValue(key);
    }
    for (let c: Command | null = cmd; c; c = c.parent) {
      const v: unknown = c.getOptionValue(key);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? v : undefined;
  const output = value('output');
  const contextName = str(value('context'));
  const config = attachedConfig(cmd);
  const context = config ? findContext(config, contextName) : undefined;
  if (contextName !== undefined && context === undefined) {
    throw new Error(
      `no context "${contextName}" in the configuration file (see \`flotilla context list\`)`,
    );
  }
  const explicitServer = str(value('server'));
  const fromContext = explicitServer === undefined || explicitServer === context?.server;
  const server = explicitServer ?? context?.server ?? DEFAULT_SERVER;
  const token = str(value('token')) ?? (fromContext ? context?.token : undefined);
  return {
    server,
    token,
    output: (outputFormats as readonly unknown[]).includes(output)
      ? (output as OutputFormat)
      : 'table',
    context: fromContext ? context?.name : undefined,
  };
}

/** An {@link ApiClient} for the server and token the given command was run with. */
export function apiClientFor(cmd: Command, ctx: Pick<CliContext, 'fetch'>): ApiClient {
  const { server, token } = globalOptions(cmd);
  return new ApiClient(server, token, { fetch: ctx.fetch });
}
