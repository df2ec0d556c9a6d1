import { Command } from 'commander';
import type { BundleDetailView, BundleListItemView } from '../../libs/contracts/api-views.js';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { formatAge, formatTable, printResult, isHumanOutput, toYaml } from '../output.js';

/** `GET /bundles/{name}/manifests` */
interface Manifests {
  bundle: string;
  cluster?: string;
  variant?: string;
  commit: string | null;
  revision: string;
  desiredRevision?: string | null;
  objects: Record<string, unknown>[];
}

const short = (sha: string | null | undefined) => sha?.slice(0, 8) ?? '';

function bundlePath(name: string): string {
  return `/bundles/${encodeURIComponent(name)}`;
}

function listRow(b: BundleListItemView): string[] {
  return [
    b.name,
    b.gitrepo,
    b.kind,
    short(b.commit),
    `${b.summary.ready}/${b.summary.desired}`,
    b.error === null ? '' : 'yes (bundle get shows it)',
  ];
}

function field(obj: Record<string, unknown>, key: 'name' | 'namespace'): string {
  const meta = obj.metadata as Record<string, unknown> | undefined;
  const value = meta?.[key];
  return typeof value === 'string' ? value : '';
}

/** The objects as a YAML stream, one document each, ready for `kubectl diff -f -`. */
export function manifestsYaml(objects: readonly unknown[]): string {
  return objects.map((o) => `---\n${toYaml(o)}`).join('');
}

/** The `bundle` command: what the resolver found in Git, and what each cluster gets. */
export function bundleCommand(ctx: CliContext): Command {
  const bundle = new Command('bundle').description('inspect bundles and their rendered manifests');

  bundle
    .command('list')
    .description('list bundles with their kind, commit and readiness')
    .option('--gitrepo <name>', 'only the bundles of this GitRepo')
    .action(async (opts: { gitrepo?: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const items = await apiClientFor(cmd, ctx).list<BundleListItemView>('/bundles', {
        gitrepo: opts.gitrepo,
      });
      printResult(
        output,
        { items },
        {
          columns: ['NAME', 'GITREPO', 'KIND', 'COMMIT', 'READY', 'ERROR'],
          rows: items.map(listRow),
          empty: 'No bundles found.',
          kind: 'bundle',
        },
        ctx.stdout,
      );
    });

  bundle
    .command('get')
    .description('show a bundle: its error in full, its variants and every deployment')
    .argument('<bundle>', 'bundle name, e.g. demo/web')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const b = await apiClientFor(cmd, ctx).get<BundleDetailView>(bundlePath(name));
      const lines = [
        `Name:     ${b.name}`,
        `GitRepo:  ${b.gitrepo}`,
        `Dir:      ${b.dir || '.'}`,
        `Kind:     ${b.kind}`,
        `Commit:   ${b.commit ?? 'none (never resolved)'}`,
      ];
      if (b.error !== null) {
        lines.push(
          `Error at ${short(b.errorCommit)}:`,
          ...b.error.split('\n').map((l) => `  ${l}`),
        );
      }
      let text = `${lines.join('\n')}\n`;
      if (b.variants !== undefined && b.variants.length > 0) {
        text += `\nVariants:\n${formatTable({
          columns: ['VARIANT', 'REVISION', 'CLUSTERS'],
          rows: b.variants.map((v) => [v.key, short(v.revision), v.clusters.join(',')]),
        })}`;
      }
      text += `\n${formatTable({
        columns: ['CLUSTER', 'STATE', 'COMMIT', 'REVISION', 'REPORTED', 'MESSAGE'],
        rows: b.deployments.map((d) => [
          d.cluster,
          d.state,
          short(d.commit),
          short(d.desiredRevision),
          formatAge(d.reportedAt, ctx.now()),
          d.message,
        ]),
        empty: 'No deployments.',
      })}`;
      if (isHumanOutput(output)) ctx.stdout.write(text);
      else
        printResult(
          output,
          b,
          { columns: [], rows: [], kind: 'bundle', names: [b.name] },
          ctx.stdout,
        );
    });

  bundle
    .command('manifests')
    .description(
      'print the rendered objects a cluster gets (or a variant renders); -o yaml prints them as a YAML stream',
    )
    .argument('<bundle>', 'bundle name, e.g. demo/web')
    .option('--cluster <name>', 'the cluster whose objects to show')
    .option('--variant <key>', 'a variant key (see bundle get) instead of a cluster')
    .action(async (name: string, opts: { cluster?: string; variant?: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      if ((opts.cluster === undefined) === (opts.variant === undefined)) {
        throw new Error('give exactly one of --cluster NAME or --variant KEY');
      }
      const m = await apiClientFor(cmd, ctx).get<Manifests>(`${bundlePath(name)}/manifests`, {
        cluster: opts.cluster,
        variant: opts.variant,
      });
      switch (output) {
        case 'yaml':
          ctx.stdout.write(manifestsYaml(m.objects));
          return;
        case 'json':
          printResult(output, m, { columns: [], rows: [] }, ctx.stdout);
          return;
        case 'name':
          // kubectl style: kind/name of every object.
          ctx.stdout.write(
            m.objects.map((o) => `${String(o.kind).toLowerCase()}/${field(o, 'name')}\n`).join(''),
          );
          return;
        case 'wide':
        case 'table': {
          const held =
            m.desiredRevision != null && m.desiredRevision !== m.revision
              ? ` (the cluster is told ${short(m.desiredRevision)} until its rollout lets it)`
              : '';
          const who = m.cluster !== undefined ? `cluster ${m.cluster}` : `variant ${m.variant}`;
          ctx.stdout.write(
            `${m.bundle} for ${who}: revision ${short(m.revision)} of commit ${short(m.commit)}${held}\n\n`,
          );
          ctx.stdout.write(
            formatTable({
              columns: ['API VERSION', 'KIND', 'NAMESPACE', 'NAME'],
              rows: m.objects.map((o) => [
                String(o.apiVersion),
                String(o.kind),
                field(o, 'namespace'),
                field(o, 'name'),
              ]),
              empty: 'No objects.',
            }),
          );
        }
      }
    });

  return bundle;
}
