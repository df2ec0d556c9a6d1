import { Command } from 'commander';
import { flotillaVersion } from '../../libs/contracts/project-root.js';
import { describeError } from '../errors.js';
import { ApiClient } from '../api-client.js';
import { globalOptions, type CliContext } from '../context.js';
import { printResult } from '../output.js';

/** What `flotilla version` reports. */
export interface VersionReport {
  client: string;
  server: string;
  /** The hub's version, or null when it could not be asked. */
  hub: string | null;
  /** Why the hub's version is missing. */
  hubError?: string;
}

/** Asks the hub for its version (`GET /api/v1/version`) and reports it with the client's. */
export async function versionReport(cmd: Command, ctx: CliContext): Promise<VersionReport> {
  const { server, token } = globalOptions(cmd);
  const client = new ApiClient(server, token, { fetch: ctx.fetch, timeoutMs: 5_000 });
  const report: VersionReport = { client: flotillaVersion(), server: client.server, hub: null };
  try {
    const answer = await client.get<{ version?: unknown }>('/version');
    if (typeof answer?.version === 'string') report.hub = answer.version;
    else report.hubError = 'the hub did not say';
  } catch (err) {
    report.hubError = describeError(err);
  }
  return report;
}

/** Prints `report` in the command's output format. */
export function printVersion(report: VersionReport, cmd: Command, ctx: CliContext): void {
  const { output } = globalOptions(cmd);
  if (output === 'json' || output === 'yaml') {
    printResult(output, report, { columns: [], rows: [] }, ctx.stdout);
    return;
  }
  ctx.stdout.write(`Client: ${report.client}\n`);
  ctx.stdout.write(
    report.hub !== null
      ? `Hub:    ${report.hub} (${report.server})\n`
      : `Hub:    unknown (${report.hubError ?? 'unreachable'})\n`,
  );
}

/** `flotilla version`: the client's version and, when it answers, the hub's. */
export function versionCommand(ctx: CliContext): Command {
  return new Command('version')
    .description("print the client's version and the hub's (when it is reachable)")
    .action(async (_opts: unknown, cmd: Command) => {
      printVersion(await versionReport(cmd, ctx), cmd, ctx);
    });
}
