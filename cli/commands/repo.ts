import { Command, Option } from 'commander';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { formatAge, formatTable, printResult } from '../output.js';

/** A GitRepo as the hub returns it (the fields the CLI prints). */
interface GitRepo {
  name: string;
  url: string;
  branch: string | null;
  revision: string | null;
  paths: string[];
  pollingInterval: string;
  status: {
    commit: string | null;
    lastSyncedAt: string | null;
    error: string | null;
    bundles: string[];
    bundleErrors: { bundle: string; commit: string | null; message: string }[];
    summary: { desired: number; ready: number; byState: Record<string, number> };
  };
}

const columns = ['NAME', 'URL', 'REF', 'COMMIT', 'BUNDLES', 'READY', 'SYNCED', 'ERROR'];

function row(r: GitRepo, now: number): string[] {
  const errors = [
    r.status.error,
    ...r.status.bundleErrors.map((e) => `${e.bundle}: ${e.message}`),
  ].filter(Boolean);
  return [
    r.name,
    r.url,
    r.revision ? r.revision.slice(0, 8) : (r.branch ?? ''),
    r.status.commit?.slice(0, 8) ?? '',
    String(r.status.bundles.length),
    `${r.status.summary.ready}/${r.status.summary.desired}`,
    formatAge(r.status.lastSyncedAt, now),
    errors.length > 0 ? (errors[0] ?? '').split('\n')[0]!.slice(0, 80) : '',
  ];
}

function repoPath(name: string): string {
  return `/gitrepos/${encodeURIComponent(name)}`;
}

/** Turns `--target` flags (`selector:env=prod`, `group:canaries`, `cluster:eu-1`) into targets. */
export function parseTargets(values: readonly string[]): Record<string, string>[] {
  return values.map((v): Record<string, string> => {
    const i = v.indexOf(':');
    const kind = i < 0 ? 'selector' : v.slice(0, i);
    const value = i < 0 ? v : v.slice(i + 1);
    switch (kind) {
      case 'selector':
        return { clusterSelector: value };
      case 'group':
        return { clusterGroup: value };
      case 'cluster':
        return { clusterName: value };
      default:
        throw new Error(`--target "${v}": use selector:<selector>, group:<name> or cluster:<name>`);
    }
  });
}

/** The `repo` command: GitRepos, the Git sources of bundles. */
export function repoCommand(ctx: CliContext): Command {
  const repo = new Command('repo').description('manage Git repositories of bundles');

  repo
    .command('add')
    .description('register a Git repository; its bundles deploy to the targeted clusters')
    .argument('<name>', 'GitRepo name')
    .requiredOption('--url <url>', 'https://, http:// or file:// URL')
    .option('--branch <branch>', 'branch to follow (default main)')
    .option('--revision <sha>', 'pin a commit instead of following a branch')
    .addOption(
      new Option('--path <dir>', 'directory holding bundles (repeatable)')
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option(
        '--target <target>',
        "clusters to deploy to: selector:'env=prod', group:NAME or cluster:NAME (repeatable)",
      )
        .argParser(collect)
        .default([]),
    )
    .option('--polling-interval <duration>', 'how often to poll, e.g. 15s; 0 turns polling off')
    .option('--username <user>', 'http(s) basic auth user (password from FLOTILLA_GIT_PASSWORD)')
    .option('--webhook-secret <secret>', 'secret that push webhooks are signed with')
    .action(
      async (
        name: string,
        opts: {
          url: string;
          branch?: string;
          revision?: string;
          path: string[];
          target: string[];
          pollingInterval?: string;
          username?: string;
          webhookSecret?: string;
        },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        let auth: Record<string, string> | undefined;
        if (opts.username) {
          const password = process.env.FLOTILLA_GIT_PASSWORD;
          if (!password) throw new Error('--username needs the password in FLOTILLA_GIT_PASSWORD');
          auth = { username: opts.username, password };
        } else if (process.env.FLOTILLA_GIT_TOKEN) {
          auth = { token: process.env.FLOTILLA_GIT_TOKEN };
        }
        const created = await apiClientFor(cmd, ctx).post<GitRepo>('/gitrepos', {
          name,
          url: opts.url,
          branch: opts.branch,
          revision: opts.revision,
          paths: opts.path.length > 0 ? opts.path : undefined,
          targets: parseTargets(opts.target),
          pollingInterval: opts.pollingInterval,
          auth,
          webhookSecret: opts.webhookSecret,
        });
        printResult(output, created, { columns, rows: [row(created, ctx.now())] }, ctx.stdout);
      },
    );

  repo
    .command('list')
    .description('list GitRepos with their commit, bundles and readiness')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const items = await apiClientFor(cmd, ctx).list<GitRepo>('/gitrepos');
      printResult(
        output,
        { items },
        { columns, rows: items.map((r) => row(r, ctx.now())), empty: 'No GitRepos found.' },
        ctx.stdout,
      );
    });

  repo
    .command('get')
    .description('show a GitRepo with its bundles and errors')
    .argument('<name>', 'GitRepo name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const r = await apiClientFor(cmd, ctx).get<GitRepo>(repoPath(name));
      printResult(output, r, { columns, rows: [row(r, ctx.now())] }, ctx.stdout);
      if (output === 'table') {
        const byState = Object.entries(r.status.summary.byState)
          .map(([s, n]) => `${s}=${n}`)
          .join(' ');
        ctx.stdout.write(
          `\nBundles: ${r.status.bundles.join(', ') || 'none'}\nDeployments: ${byState || 'none'}\n`,
        );
        if (r.status.error) ctx.stdout.write(`Sync error: ${r.status.error}\n`);
        if (r.status.bundleErrors.length > 0) {
          ctx.stdout.write(
            `\n${formatTable({
              columns: ['BUNDLE', 'COMMIT', 'ERROR'],
              rows: r.status.bundleErrors.map((e) => [
                e.bundle,
                e.commit?.slice(0, 8) ?? '',
                e.message,
              ]),
            })}`,
          );
        }
      }
    });

  repo
    .command('sync')
    .description('fetch and deploy now')
    .argument('<name>', 'GitRepo name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const res = await apiClientFor(cmd, ctx).post<{ name: string; syncRequestedAt: string }>(
        `${repoPath(name)}/sync`,
      );
      printResult(
        output,
        res,
        { columns: ['NAME', 'SYNC REQUESTED'], rows: [[res.name, res.syncRequestedAt]] },
        ctx.stdout,
      );
    });

  repo
    .command('delete')
    .description('delete a GitRepo; its bundles are removed from every cluster')
    .argument('<name>', 'GitRepo name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      await apiClientFor(cmd, ctx).delete(repoPath(name));
      if (output === 'table') ctx.stdout.write(`gitrepo "${name}" deleted\n`);
      else printResult(output, { name, deleted: true }, { columns: [], rows: [] }, ctx.stdout);
    });

  return repo;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
