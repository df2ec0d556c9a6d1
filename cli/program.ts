import { Argument, Command } from 'commander';
import { bundleCommand } from './commands/bundle.js';
import { clusterCommand } from './commands/cluster.js';
import { groupCommand } from './commands/group.js';
import { contextCommand, loginCommand } from './commands/login.js';
import { planCommand } from './commands/plan.js';
import { notificationCommand } from './commands/notification.js';
import { repoCommand } from './commands/repo.js';
import { rolloutCommand } from './commands/rollout.js';
import { statusCommand } from './commands/status.js';
import { registrationTokenCommand, tokenCommand } from './commands/tokens.js';
import { versionCommand } from './commands/version.js';
import { waitCommand } from './commands/wait.js';
import { completionScript, completionShells, type CompletionShell } from './completion.js';
import { configPath, readConfigSync } from './config-file.js';
import {
  attachConfig,
  globalOptionDefinitions,
  withGlobalOptions,
  type CliContext,
} from './context.js';

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
    env: context.env ?? process.env,
    stop: context.stop,
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
  program.option('-V, --version', "print the client's version and the hub's (same as `version`)");
  // The configuration file (contexts of `flotilla login`) is read before any command runs.
  program.hook('preAction', () => {
    attachConfig(program, readConfigSync(configPath(ctx.env)));
  });

  registerCommand(program, clusterCommand(ctx));
  registerCommand(program, groupCommand(ctx));
  registerCommand(program, repoCommand(ctx));
  registerCommand(program, bundleCommand(ctx));
  registerCommand(program, rolloutCommand(ctx));
  registerCommand(program, statusCommand(ctx));
  registerCommand(program, waitCommand(ctx));
  registerCommand(program, tokenCommand(ctx));
  registerCommand(program, registrationTokenCommand(ctx));
  registerCommand(program, loginCommand(ctx));
  registerCommand(program, contextCommand(ctx));
  registerCommand(program, versionCommand(ctx));
  program.addCommand(completionCommand(ctx));
  registerCommand(program, planCommand(ctx));
  registerCommand(program, notificationCommand(ctx));
  return program;
}

/** `flotilla completion bash|zsh|fish`: a completion script made from the command tree. */
function completionCommand(ctx: CliContext): Command {
  return new Command('completion')
    .description(
      'print a shell completion script: source <(flotilla completion bash), or zsh; fish: flotilla completion fish | source',
    )
    .addArgument(new Argument('<shell>', 'shell').choices(completionShells))
    .action((shell: CompletionShell, _opts: unknown, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      ctx.stdout.write(completionScript(root, shell));
    });
}

/**
 * `argv` (user arguments, without node and the script) with a program-level `--version`/`-V`
 * turned into the `version` command, which also asks the hub; other arguments are kept.
 */
export function expandVersionFlag(program: Command, argv: readonly string[]): string[] {
  const names = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  if (argv.some((a) => names.has(a))) return [...argv];
  const index = argv.findIndex((a) => a === '--version' || a === '-V');
  if (index === -1) return [...argv];
  return [...argv.slice(0, index), ...argv.slice(index + 1), 'version'];
}
