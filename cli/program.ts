import { Command } from 'commander';
import { bundleCommand } from './commands/bundle.js';
import { clusterCommand } from './commands/cluster.js';
import { groupCommand } from './commands/group.js';
import { notificationCommand } from './commands/notification.js';
import { repoCommand } from './commands/repo.js';
import { rolloutCommand } from './commands/rollout.js';
import { statusCommand } from './commands/status.js';
import { globalOptionDefinitions, withGlobalOptions, type CliContext } from './context.js';

export {
  DEFAULT_SERVER,
  apiClientFor,
  globalOptions,
  withGlobalOptions,
  type CliContext,
  type GlobalOptions,
} from './context.js';

/**
 * Adds `cmd` (built with `new Command(...)`) to the program: it and its subcommands inherit the
 * program's settings (output streams, help, positional options) as `.command()` children would,
 * and its runnable commands get the global options (see {@link withGlobalOptions}).
 */
export function registerCommand(program: Command, cmd: Command): Command {
  const inherit = (parent: Command, child: Command): void => {
    child.copyInheritedSettings(parent);
    for (const sub of child.commands) inherit(child, sub);
  };
  inherit(program, cmd);
  withGlobalOptions(cmd);
  program.addCommand(cmd);
  return program;
}

/**
 * Builds the `flotilla` program with the client commands (`cluster`, `group`). More commands
 * are added with {@link registerCommand}. The global options are accepted both before the
 * subcommand (`flotilla --server URL cluster list`) and on it (`flotilla cluster list
 * --server URL`); positional options keep a subcommand's own flags (like `agent --token`)
 * from being taken by the program.
 */
export function buildProgram(context: Partial<CliContext> = {}): Command {
  const ctx: CliContext = {
    stdout: context.stdout ?? process.stdout,
    stderr: context.stderr ?? process.stderr,
    fetch: context.fetch,
    now: context.now ?? Date.now,
  };
  const program = new Command('flotilla')
    .description('Flotilla: GitOps hub for fleets of Kubernetes clusters')
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
    });
  for (const option of globalOptionDefinitions()) program.addOption(option);

  registerCommand(program, clusterCommand(ctx));
  registerCommand(program, groupCommand(ctx));
  registerCommand(program, repoCommand(ctx));
  registerCommand(program, bundleCommand(ctx));
  registerCommand(program, rolloutCommand(ctx));
  registerCommand(program, statusCommand(ctx));
  registerCommand(program, notificationCommand(ctx));
  return program;
}
