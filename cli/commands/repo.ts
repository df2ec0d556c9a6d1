import { Command, Option } from 'commander';
import type { GitRepoView } from '../../libs/contracts/api-views.js';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { formatAge, formatResult, printResult, isHumanOutput } from '../output.js';
import { watchOutput } from '../watch.js';
import { parseInterval } from './cluster.js';

const columns = ['NAME', 'URL', 'REF', 'COMMIT', 'BUNDLES', 'READY', 'SYNCED', 'ERRORS'];

function errorCount(r: GitRepoView): number {
  return (r.status.error === null ? 0 : 1) + r.status.bundleErrors.length;
}

function row(r: GitRepoView, now: number): string[] {
  const errors = errorCount(r);
  return [
    r.name,
    r.url,
    r.revision ? r.revision.slice(0, 8) : (r.branch ?? ''),
    r.status.commit?.slice(0, 8) ?? '',
    String(r.status.bundles.length),
    `${r.status.summary.ready}/${r.status.summary.desired}`,
    formatAge(r.status.lastSyncedAt, now),
    errors > 0 ? String(errors) : '',
  ];
}

/** An indented block: the first line after `head`, continuation lines aligned under it. */
function block(head: string, text: string): string {
  const [first, ...rest] = text.split('\n');
  return [`${head}${first ?? ''}`, ...rest.map((l) => `    ${l}`)].join('\n');
}

/**
 * Every error and warning of the GitRepos, in full (a table cell would cut them): the sync
 * error, each bundle's error with its commit, and warnings such as "deploys nowhere".
 */
export function formatProblems(repos: readonly GitRepoView[]): string {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const r of repos) {
    if (r.status.error !== null) errors.push(block(`  ${r.name}: `, r.status.error));
    for (const e of r.status.bundleErrors) {
      const at = e.commit ? ` (at ${e.commit.slice(0, 8)})` : '';
      errors.push(block(`  ${r.name}: bundle ${e.bundle}${at}: `, e.message ?? ''));
    }
    for (const w of r.status.warnings ?? []) warnings.push(block(`  ${r.name}: `, w.message));
  }
  let text = '';
  if (errors.length > 0) text += `\nErrors:\n${errors.join('\n')}\n`;
  if (warnings.length > 0) text += `\nWarnings:\n${warnings.join('\n')}\n`;
  return text;
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
        const created = await apiClientFor(cmd, ctx).post<GitRepoView>('/gitrepos', {
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
        printResult(
          output,
          created,
          { columns, rows: [row(created, ctx.now())], kind: 'gitrepo' },
          ctx.stdout,
        );
      },
    );

  repo
    .command('list')
    .description('list GitRepos with their commit, bundles and readiness')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const items = await apiClientFor(cmd, ctx).list<GitRepoView>('/gitrepos');
      printResult(
        output,
        { items },
        {
          columns,
          rows: items.map((r) => row(r, ctx.now())),
          empty: 'No GitRepos found.',
          kind: 'gitrepo',
        },
        ctx.stdout,
      );
      if (isHumanOutput(output)) ctx.stdout.write(formatProblems(items));
    });

  repo
    .command('get')
    .description('show a GitRepoView with its bundles and errors')
    .argument('<name>', 'GitRepo name')
    .option('-w, --watch', 'keep showing it until Ctrl-C (on a pipe: only when something changed)')
    .option('--interval <duration>', 'refresh interval with --watch', parseInterval, 2_000)
    .action(async (name: string, opts: { watch?: boolean; interval: number }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const client = apiClientFor(cmd, ctx);
      const render = async (): Promise<string> => {
        const r = await client.get<GitRepoView>(repoPath(name));
        let text = formatResult(output, r, { columns, rows: [row(r, ctx.now())], kind: 'gitrepo' });
        if (isHumanOutput(output)) {
          const byState = Object.entries(r.status.summary.byState)
            .map(([s, n]) => `${s}=${n}`)
            .join(' ');
          const changed = r.status.lastChangedAt
            ? `\nChanged: ${formatAge(r.status.lastChangedAt, ctx.now())}`
            : '';
          text += `\nBundles: ${r.status.bundles.join(', ') || 'none'}\nDeployments: ${byState || 'none'}${changed}\n`;
          text += formatProblems([r]);
        }
        return text;
      };
      if (opts.watch) await watchOutput(ctx, output, opts.interval, render);
      else ctx.stdout.write(await render());
    });

  repo
    .command('update')
    .description('change some fields of a GitRepoView; the others stay (PATCH)')
    .argument('<name>', 'GitRepo name')
    .option('--url <url>', 'https://, http:// or file:// URL (admin only)')
    .option('--branch <branch>', 'branch to follow')
    .option('--revision <sha>', 'pin a commit')
    .option('--follow-branch', 'unpin: follow the branch again')
    .addOption(
      new Option('--path <dir>', 'directory holding bundles; replaces the paths (repeatable)')
        .argParser(collect)
        .default(undefined),
    )
    .addOption(
      new Option(
        '--target <target>',
        "replaces the targets: selector:'env=prod', group:NAME or cluster:NAME (repeatable)",
      )
        .argParser(collect)
        .default(undefined),
    )
    .option('--no-targets', 'remove every target (the GitRepoView then deploys nowhere)')
    .option('--polling-interval <duration>', 'how often to poll, e.g. 15s; 0 turns polling off')
    .option('--generation <n>', 'apply only if the GitRepoView is still at this generation')
    .action(
      async (
        name: string,
        opts: {
          url?: string;
          branch?: string;
          revision?: string;
          followBranch?: boolean;
          path?: string[];
          target?: string[];
          targets: boolean;
          pollingInterval?: string;
          generation?: string;
        },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        if (opts.revision !== undefined && opts.followBranch) {
          throw new Error('--revision and --follow-branch contradict each other');
        }
        if (!opts.targets && opts.target !== undefined) {
          throw new Error('--target and --no-targets contradict each other');
        }
        let generation: number | undefined;
        if (opts.generation !== undefined) {
          generation = Number(opts.generation);
          if (!Number.isInteger(generation) || generation < 1) {
            throw new Error(`--generation "${opts.generation}": expected a positive integer`);
          }
        }
        const body: Record<string, unknown> = {
          url: opts.url,
          branch: opts.branch,
          revision: opts.followBranch ? null : opts.revision,
          paths: opts.path,
          targets: opts.targets ? opts.target && parseTargets(opts.target) : [],
          pollingInterval: opts.pollingInterval,
          generation,
        };
        for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
        if (Object.keys(body).filter((k) => k !== 'generation').length === 0) {
          throw new Error(
            'nothing to change: give --branch, --revision, --follow-branch, --path, --target, --no-targets, --polling-interval or --url',
          );
        }
        const updated = await apiClientFor(cmd, ctx).patch<GitRepoView>(repoPath(name), body);
        printResult(output, updated, { columns, rows: [row(updated, ctx.now())] }, ctx.stdout);
      },
    );

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
    .description('delete a GitRepoView; its bundles are removed from every cluster')
    .argument('<name>', 'GitRepo name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      await apiClientFor(cmd, ctx).delete(repoPath(name));
      if (isHumanOutput(output)) ctx.stdout.write(`gitrepo "${name}" deleted\n`);
      else printResult(output, { name, deleted: true }, { columns: [], rows: [] }, ctx.stdout);
    });

  return repo;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
