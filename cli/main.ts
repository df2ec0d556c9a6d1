// Entry point of the `flotilla` command (run through bin/flotilla.js after `npm run build`).
import { agentCommand } from './commands/agent.js';
import { demoCommand } from './commands/demo.js';
import { devCommand } from './commands/dev.js';
import { hubCommand } from './commands/hub.js';
import { describeError } from './errors.js';
import { buildProgram, expandVersionFlag, registerCommand } from './program.js';

const program = buildProgram();
for (const command of [hubCommand(), devCommand(), agentCommand(), demoCommand()]) {
  registerCommand(program, command);
}

try {
  await program.parseAsync(expandVersionFlag(program, process.argv.slice(2)), { from: 'user' });
} catch (err) {
  process.stderr.write(`error: ${describeError(err)}\n`);
  if (process.env.FLOTILLA_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
  // Connections opened before the failure must not keep a failed command alive.
  process.exit(1);
}
