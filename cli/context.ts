import { Command, Option } from 'commander';
import { ApiClient } from './api-client.js';
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
}

/** The options every command takes, resolved: `--server`, `--token`, `-o`. */
export interface GlobalOptions {
  server: string;
  token?: string;
  output: OutputFormat;
}

/** Fresh definitions of the global options (commander options cannot be shared). */
export function globalOptionDefinitions(): Option[] {
  return [
    new Option('--server <url>', 'URL of the Flotilla hub')
      .env('FLOTILLA_SERVER')
      .default(DEFAULT_SERVER),
    new Option('--token <token>', 'API token, sent as "Authorization: Bearer"').env(
      'FLOTILLA_TOKEN',
    ),
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
 * Resolves the global options for the command being run: the nearest command (the leaf
 * itself, then its parents up to the program) where the option was typed on the command line
 * wins; otherwise the environment variable or default as seen by the leaf.
 */
export function globalOptions(cmd: Command): GlobalOptions {
  const value = (key: 'server' | 'token' | 'output'): unknown => {
    for (let c: Command | null = cmd; c; c = c.parent) {
      if (c.getOptionValueSource(key) === 'cli') return c.getOptionValue(key);
    }
    for (let c: Command | null = cmd; c; c = c.parent) {
      const v: unknown = c.getOptionValue(key);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const server = value('server');
  const token = value('token');
  const output = value('output');
  return {
    server: typeof server === 'string' && server !== '' ? server : DEFAULT_SERVER,
    token: typeof token === 'string' && token !== '' ? token : undefined,
    output: (outputFormats as readonly unknown[]).includes(output)
      ? (output as OutputFormat)
      : 'table',
  };
}

/** An {@link ApiClient} for the server and token the given command was run with. */
export function apiClientFor(cmd: Command, ctx: Pick<CliContext, 'fetch'>): ApiClient {
  const { server, token } = globalOptions(cmd);
  return new ApiClient(server, token, { fetch: ctx.fetch });
}
