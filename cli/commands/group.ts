import { Command } from 'commander';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { formatTable, printResult, isHumanOutput } from '../output.js';
import {
  clusterGroupSchema,
  formatSelector,
  listSchema,
  parseResponse,
  type ClusterGroup,
} from '../resources.js';
import { parsePositiveInt } from './cluster.js';

/** Column titles of a cluster group row. */
export const groupColumns = ['NAME', 'SELECTOR', 'CLUSTERS'];

/** A group as one table row (see {@link groupColumns}). */
export function groupRow(group: ClusterGroup): string[] {
  const count = group.clusterCount ?? group.clusters?.length ?? group.summary?.total;
  return [
    group.name,
    group.selectorText ? group.selectorText : formatSelector(group.selector),
    count === undefined || count === null ? '' : String(count),
  ];
}

function groupPath(name: string): string {
  return `/cluster-groups/${encodeURIComponent(name)}`;
}

/** The `group` command: create, list, get and delete cluster groups. */
export function groupCommand(ctx: CliContext): Command {
  const group = new Command('group').description(
    'manage cluster groups (clusters chosen by labels)',
  );

  group
    .command('create')
    .description('create a group of the clusters matching a label selector')
    .argument('<name>', 'group name')
    .requiredOption(
      '--selector <selector>',
      "label selector in Kubernetes syntax, e.g. 'env=prod,region in (eu,us)'",
    )
    .action(async (name: string, opts: { selector: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const created = parseResponse(
        clusterGroupSchema,
        await apiClientFor(cmd, ctx).post('/cluster-groups', { name, selector: opts.selector }),
        'POST /cluster-groups',
      );
      printResult(
        output,
        created,
        { columns: groupColumns, rows: [groupRow(created)], kind: 'group' },
        ctx.stdout,
      );
    });

  group
    .command('list')
    .description('list cluster groups')
    .option('--limit <n>', 'return at most N groups (one page)', parsePositiveInt)
    .action(async (opts: { limit?: number }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const client = apiClientFor(cmd, ctx);
      const raw: unknown =
        opts.limit === undefined
          ? { items: await client.list('/cluster-groups') }
          : await client.get('/cluster-groups', { limit: opts.limit });
      const { items } = parseResponse(listSchema(clusterGroupSchema), raw, 'GET /cluster-groups');
      printResult(
        output,
        raw,
        {
          columns: groupColumns,
          rows: items.map(groupRow),
          empty: 'No cluster groups found.',
          kind: 'group',
        },
        ctx.stdout,
      );
    });

  group
    .command('get')
    .description('show a cluster group, its member clusters and their states')
    .argument('<name>', 'group name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const result = parseResponse(
        clusterGroupSchema,
        await apiClientFor(cmd, ctx).get(groupPath(name)),
        `GET ${groupPath(name)}`,
      );
      const s = result.summary;
      printResult(
        output,
        result,
        {
          columns: [...groupColumns, 'ONLINE', 'OFFLINE', 'PENDING'],
          kind: 'group',
          rows: [[...groupRow(result), s?.online, s?.offline, s?.pending]],
        },
        ctx.stdout,
      );
      const members = result.clusters ?? [];
      if (isHumanOutput(output) && members.length > 0) {
        ctx.stdout.write(
          `\n${formatTable({ columns: ['CLUSTER'], rows: members.map((m) => [m]) })}`,
        );
      }
    });

  group
    .command('delete')
    .description('delete a cluster group (its clusters stay registered)')
    .argument('<name>', 'group name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      await apiClientFor(cmd, ctx).delete(groupPath(name));
      if (isHumanOutput(output)) ctx.stdout.write(`group "${name}" deleted\n`);
      else printResult(output, { name, deleted: true }, { columns: [], rows: [] }, ctx.stdout);
    });

  return group;
}
