import { Command } from 'commander';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { formatTable, printResult, isHumanOutput } from '../output.js';

interface FleetStatus {
  clusters: { total: number; online: number; offline: number; pending: number };
  deployments: { total: number; byState: Record<string, number> };
  nonReady: { cluster: string; bundle: string; state: string; message: string; drift?: string }[];
  nonReadyTotal?: number;
  /** When the hub computed the counts (it does at most once a second). */
  computedAt?: string;
  continue?: string;
}

/**
 * The fleet status as text: counts, then every non-ready deployment with its message, or for
 * a drifted one what changed.
 */
export function formatStatus(s: FleetStatus): string {
  const states = Object.entries(s.deployments.byState)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
  const lines = [
    `Clusters:    ${s.clusters.total} (online ${s.clusters.online}, offline ${s.clusters.offline}, pending ${s.clusters.pending})`,
    `Deployments: ${s.deployments.total}${states ? ` (${states})` : ''}`,
    ...(s.computedAt ? [`Counted at:  ${s.computedAt}`] : []),
  ];
  const table =
    s.nonReady.length === 0
      ? s.deployments.total > 0
        ? '\nEvery deployment is Ready.\n'
        : ''
      : `\n${formatTable({
          columns: ['CLUSTER', 'BUNDLE', 'STATE', 'MESSAGE'],
          rows: s.nonReady.map((d) => [
            d.cluster,
            d.bundle,
            d.state,
            d.drift ?? d.message.split('\n')[0] ?? '',
          ]),
        })}`;
  return `${lines.join('\n')}\n${table}`;
}

/** Fetches the status with every non-ready deployment (all pages). */
async function fetchStatus(
  get: (query: Record<string, string | undefined>) => Promise<FleetStatus>,
): Promise<FleetStatus> {
  const first = await get({});
  const all = { ...first, nonReady: [...first.nonReady] };
  let token = first.continue;
  while (token) {
    const page = await get({ continue: token });
    all.nonReady.push(...page.nonReady);
    token = page.continue;
  }
  delete all.continue;
  return all;
}

/** `flotilla status [--watch]`: the fleet at a glance. */
export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description('show the fleet: clusters, deployments by state, and every non-ready deployment')
    .option('-w, --watch', 'keep refreshing until Ctrl-C')
    .option('--interval <seconds>', 'refresh interval with --watch', '2')
    .action(async (opts: { watch?: boolean; interval: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const client = apiClientFor(cmd, ctx);
      const get = (q: Record<string, string | undefined>) => client.get<FleetStatus>('/status', q);
      const show = async () => {
        const status = await fetchStatus(get);
        if (isHumanOutput(output)) ctx.stdout.write(formatStatus(status));
        else printResult(output, status, { columns: [], rows: [] }, ctx.stdout);
      };
      if (!opts.watch) return show();
      const seconds = Number(opts.interval);
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw new Error('--interval must be a positive number of seconds');
      for (;;) {
        if (isHumanOutput(output) && process.stdout.isTTY) ctx.stdout.write('\x1b[2J\x1b[H');
        await show();
        if (isHumanOutput(output))
          ctx.stdout.write(`\n(refreshing every ${seconds}s; Ctrl-C to stop)\n`);
        await new Promise((r) => setTimeout(r, seconds * 1000));
      }
    });
}
