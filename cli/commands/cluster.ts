import { Command, InvalidArgumentError } from 'commander';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { applyLabelChanges, parseLabelArgs } from '../labels.js';
import { parseDuration } from '../../libs/config/duration.js';
import { driftOf, formatDrift } from '../../libs/contracts/drift-view.js';
import {
  formatAge,
  formatLabels,
  formatResult,
  formatTable,
  isHumanOutput,
  printResult,
  type TableSpec,
} from '../output.js';
import { watchOutput } from '../watch.js';
import {
  clusterSchema,
  listSchema,
  parseResponse,
  registeredClusterSchema,
  type Cluster,
  type Deployment,
} from '../resources.js';

/** Column titles of a cluster row. */
export const clusterColumns = ['NAME', 'STATE', 'LABELS', 'LAST SEEN', 'KUBERNETES', 'AGENT'];

/** A cluster as one table row (see {@link clusterColumns}); `now` is for LAST SEEN. */
export function clusterRow(cluster: Cluster, now: number): string[] {
  return [
    cluster.name,
    cluster.state,
    formatLabels(cluster.labels),
    formatAge(cluster.lastSeen, now),
    cluster.kubernetesVersion ?? '',
    cluster.agentVersion ?? '',
  ];
}

/** The table of a cluster's deployments, as `cluster get` prints it below the cluster. */
export function deploymentsTable(deployments: readonly Deployment[]): TableSpec {
  return {
    columns: ['BUNDLE', 'STATE', 'COMMIT', 'DESIRED', 'APPLIED', 'MESSAGE'],
    rows: deployments.map((d) => [
      d.bundle,
      d.state,
      shortId(d.commit, 7),
      shortId(d.desiredRevision, 12),
      shortId(d.appliedRevision, 12),
      d.message ?? '',
    ]),
  };
}

/** Commander argument parser for a refresh interval such as `2s` (milliseconds). */
export function parseInterval(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(/^\d+(\.\d+)?$/.test(value) ? `${value}s` : value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a duration such as 2s or 500ms`);
  }
  if (ms < 100) throw new InvalidArgumentError(`"${value}" is shorter than 100ms`);
  return ms;
}

/** Commander argument parser for a positive integer such as `--limit`. */
export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return Number(value);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function shortId(id: string | null | undefined, length: number): string {
  if (!id) return '';
  const bare = id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
  return bare.slice(0, length);
}

function clusterPath(name: string): string {
  return `/clusters/${encodeURIComponent(name)}`;
}

/** The `cluster` command: register, list, get, label and delete clusters. */
export function clusterCommand(ctx: CliContext): Command {
  const cluster = new Command('cluster').description('manage the clusters of the fleet');

  cluster
    .command('register')
    .description('register a cluster and print the token its agent connects with')
    .argument('<name>', 'cluster name')
    .option('--label <key=value>', 'label of the cluster (repeatable)', collect, [])
    .action(async (name: string, opts: { label: string[] }, cmd: Command) => {
      const { output, server } = globalOptions(cmd);
      const { set: labels } = parseLabelArgs(opts.label, { allowRemove: false });
      const client = apiClientFor(cmd, ctx);
      const result = parseResponse(
        registeredClusterSchema,
        await client.post('/clusters', { name, labels }),
        'POST /clusters',
      );
      printResult(
        output,
        result,
        { columns: clusterColumns, rows: [clusterRow(result.cluster, ctx.now())], kind: 'cluster' },
        ctx.stdout,
      );
      if (isHumanOutput(output)) {
        ctx.stdout.write(
          `\nAgent token (shown once):\n  ${result.token}\n\n` +
            `Run the agent for this cluster with:\n` +
            `  flotilla agent --hub ${server} --token ${result.token} --simulate\n` +
            `(or --kubeconfig PATH instead of --simulate to manage a real cluster)\n`,
        );
      }
    });

  cluster
    .command('list')
    .description('list clusters, optionally only those matching a label selector')
    .option('-l, --selector <selector>', "label selector, e.g. 'env=prod,region in (eu,us)'")
    .option('--limit <n>', 'return at most N clusters (one page)', parsePositiveInt)
    .option('-w, --watch', 'keep listing until Ctrl-C (on a pipe: only when something changed)')
    .option('--interval <duration>', 'refresh interval with --watch', parseInterval, 2_000)
    .action(
      async (
        opts: { selector?: string; limit?: number; watch?: boolean; interval: number },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        const client = apiClientFor(cmd, ctx);
        const query = { labelSelector: opts.selector };
        const render = async (): Promise<string> => {
          let raw: unknown;
          if (opts.limit === undefined) {
            raw = { items: await client.list('/clusters', query) };
          } else {
            raw = await client.get('/clusters', { ...query, limit: opts.limit });
          }
          const { items } = parseResponse(listSchema(clusterSchema), raw, 'GET /clusters');
          const now = ctx.now();
          return formatResult(output, raw, {
            columns: clusterColumns,
            rows: items.map((c) => clusterRow(c, now)),
            empty: opts.selector ? `No clusters match "${opts.selector}".` : 'No clusters found.',
            kind: 'cluster',
            wide: {
              columns: [...clusterColumns, 'REGISTERED', 'LAST SEEN AT'],
              rows: items.map((c) => [
                ...clusterRow(c, now),
                formatAge(c.createdAt, now),
                c.lastSeen ?? '',
              ]),
            },
          });
        };
        if (opts.watch) await watchOutput(ctx, output, opts.interval, render);
        else ctx.stdout.write(await render());
      },
    );

  cluster
    .command('get')
    .description('show a cluster and its deployments')
    .argument('<name>', 'cluster name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const client = apiClientFor(cmd, ctx);
      const result = parseResponse(
        clusterSchema,
        await client.get(clusterPath(name)),
        `GET ${clusterPath(name)}`,
      );
      printResult(
        output,
        result,
        { columns: clusterColumns, rows: [clusterRow(result, ctx.now())], kind: 'cluster' },
        ctx.stdout,
      );
      const deployments = result.deployments ?? [];
      if (isHumanOutput(output) && deployments.length > 0) {
        ctx.stdout.write(`\n${formatTable(deploymentsTable(deployments))}`);
      }
    });

  cluster
    .command('drift')
    .description(
      "show, as a YAML diff, the fields of a cluster's objects that differ from what its agent applied",
    )
    .argument('<name>', 'cluster name')
    .option('--bundle <bundle>', 'only this bundle')
    .action(async (name: string, opts: { bundle?: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const result = parseResponse(
        clusterSchema,
        await apiClientFor(cmd, ctx).get(clusterPath(name)),
        `GET ${clusterPath(name)}`,
      );
      const drifted = driftOf(result.deployments ?? [], opts.bundle);
      if (output === 'table') ctx.stdout.write(formatDrift(result.name, drifted, opts.bundle));
      else
        printResult(
          output,
          { cluster: result.name, drift: drifted },
          { columns: [], rows: [] },
          ctx.stdout,
        );
    });

  cluster
    .command('label')
    .description('add, change (with --overwrite) or remove (key-) labels of a cluster')
    .argument('<name>', 'cluster name')
    .argument('<labels...>', 'key=value to set, key- to remove')
    .option('--overwrite', 'allow changing the value of an existing label', false)
    .action(async (name: string, args: string[], opts: { overwrite: boolean }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const changes = parseLabelArgs(args);
      const client = apiClientFor(cmd, ctx);
      const current = parseResponse(
        clusterSchema,
        await client.get(clusterPath(name)),
        `GET ${clusterPath(name)}`,
      );
      const update = applyLabelChanges(current.labels, changes, { overwrite: opts.overwrite });
      for (const warning of update.warnings) ctx.stderr.write(`warning: ${warning}\n`);
      const result = update.changed
        ? parseResponse(
            clusterSchema,
            await client.patch(clusterPath(name), { labels: update.labels }),
            `PATCH ${clusterPath(name)}`,
          )
        : current;
      printResult(
        output,
        result,
        { columns: clusterColumns, rows: [clusterRow(result, ctx.now())], kind: 'cluster' },
        ctx.stdout,
      );
    });

  cluster
    .command('delete')
    .description('delete a cluster (its agent can no longer connect)')
    .argument('<name>', 'cluster name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      await apiClientFor(cmd, ctx).delete(clusterPath(name));
      if (isHumanOutput(output)) ctx.stdout.write(`cluster "${name}" deleted\n`);
      else printResult(output, { name, deleted: true }, { columns: [], rows: [] }, ctx.stdout);
    });

  return cluster;
}
