import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { printResult } from '../output.js';
import { listSchema, parseResponse } from '../resources.js';
import { parsePositiveInt } from './cluster.js';

/** A notification target as the API shows it (never its secrets). */
const targetSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  urlHost: z.string().nullish(),
  hasHmacKey: z.boolean().optional(),
  hasToken: z.boolean().optional(),
});
type Target = z.infer<typeof targetSchema>;

/** A notification rule as the API shows it. */
const ruleSchema = z.looseObject({
  name: z.string(),
  targets: z.array(z.string()),
  kinds: z.array(z.string()).default([]),
  gitrepos: z.array(z.string()).default([]),
  bundles: z.array(z.string()).default([]),
  clusterSelector: z.string().nullish(),
  severity: z.string().default('info'),
});
type Rule = z.infer<typeof ruleSchema>;

const targetColumns = ['NAME', 'TYPE', 'HOST', 'SIGNED', 'TOKEN'];
const ruleColumns = ['NAME', 'TARGETS', 'KINDS', 'GITREPOS', 'BUNDLES', 'CLUSTERS', 'SEVERITY'];

/** A target as one table row. */
export function targetRow(t: Target): string[] {
  return [t.name, t.type, t.urlHost ?? '', t.hasHmacKey ? 'yes' : '', t.hasToken ? 'yes' : ''];
}

/** A rule as one table row; an empty filter shows `*`. */
export function ruleRow(r: Rule): string[] {
  const all = (v: string[]) => (v.length === 0 ? '*' : v.join(','));
  return [
    r.name,
    r.targets.join(','),
    all(r.kinds),
    all(r.gitrepos),
    all(r.bundles),
    r.clusterSelector ?? '*',
    r.severity,
  ];
}

/** Splits a comma-separated option into its non-empty parts. */
export function parseList(value: string): string[] {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return parts;
}

const base = '/notifications';

/** The `notification` command: targets and rules of the hub's notifications. */
export function notificationCommand(ctx: CliContext): Command {
  const notification = new Command('notification').description(
    'manage notification targets (webhooks, Slack, Teams, commit statuses) and rules',
  );

  const target = notification.command('target').description('where notifications go');
  target
    .command('create')
    .description('create a target; its URL, HMAC key and token are stored encrypted')
    .argument('<name>', 'target name')
    .addOption(
      new Option('--type <type>', 'target type')
        .choices(['webhook', 'cloudevents', 'slack', 'teams', 'github', 'gitlab', 'gitea'])
        .makeOptionMandatory(),
    )
    .option('--url <url>', 'webhook URL, or a forge API base')
    .option('--hmac-key <key>', 'sign bodies with HMAC-SHA256 (webhook, cloudevents)')
    .option('--forge-token <token>', "forge token (default: the GitRepo's credentials)")
    .option('--allow-http', 'allow plain http (default: https only)')
    .option('--rate-limit <n>', 'deliveries per minute at most', parsePositiveInt)
    .option('--timeout-ms <ms>', 'how long one delivery may take', parsePositiveInt)
    .option('--context <prefix>', 'commit status context prefix (default flotilla)')
    .action(
      async (
        name: string,
        opts: {
          type: string;
          url?: string;
          hmacKey?: string;
          forgeToken?: string;
          allowHttp?: boolean;
          rateLimit?: number;
          timeoutMs?: number;
          context?: string;
        },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        const body = {
          name,
          type: opts.type,
          ...(opts.url === undefined ? {} : { url: opts.url }),
          ...(opts.hmacKey === undefined ? {} : { hmacKey: opts.hmacKey }),
          ...(opts.forgeToken === undefined ? {} : { token: opts.forgeToken }),
          ...(opts.allowHttp ? { allowHttp: true } : {}),
          ...(opts.rateLimit === undefined ? {} : { rateLimitPerMinute: opts.rateLimit }),
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
          ...(opts.context === undefined ? {} : { context: opts.context }),
        };
        const created = parseResponse(
          targetSchema,
          await apiClientFor(cmd, ctx).post(`${base}/targets`, body),
          `POST ${base}/targets`,
        );
        printResult(
          output,
          created,
          { columns: targetColumns, rows: [targetRow(created)] },
          ctx.stdout,
        );
      },
    );
  target
    .command('list')
    .description('list targets (without their secrets)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const raw = { items: await apiClientFor(cmd, ctx).list(`${base}/targets`) };
      const { items } = parseResponse(listSchema(targetSchema), raw, `GET ${base}/targets`);
      printResult(
        output,
        raw,
        { columns: targetColumns, rows: items.map(targetRow), empty: 'No notification targets.' },
        ctx.stdout,
      );
    });
  target
    .command('delete')
    .description('delete a target and its deliveries')
    .argument('<name>', 'target name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      await apiClientFor(cmd, ctx).delete(`${base}/targets/${encodeURIComponent(name)}`);
      if (output === 'table') ctx.stdout.write(`notification target "${name}" deleted\n`);
      else printResult(output, { name, deleted: true }, { columns: [], rows: [] }, ctx.stdout);
    });

  const rule = notification.command('rule').description('which events go to which targets');
  rule
    .command('create')
    .description('create a rule')
    .argument('<name>', 'rule name')
    .requiredOption('--targets <names>', 'comma-separated target names', parseList)
    .option('--kinds <kinds>', 'comma-separated event kinds (default: all)', parseList)
    .option('--gitrepos <names>', 'only events of these GitRepos', parseList)
    .option('--bundles <names>', 'only events of these bundles', parseList)
    .option('--cluster-selector <selector>', "only clusters matching, e.g. 'env=prod'")
    .addOption(
      new Option('--severity <level>', 'the least severity sent').choices([
        'info',
        'warning',
        'error',
      ]),
    )
    .action(
      async (
        name: string,
        opts: {
          targets: string[];
          kinds?: string[];
          gitrepos?: string[];
          bundles?: string[];
          clusterSelector?: string;
          severity?: string;
        },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        const body = {
          name,
          targets: opts.targets,
          ...(opts.kinds === undefined ? {} : { kinds: opts.kinds }),
          ...(opts.gitrepos === undefined ? {} : { gitrepos: opts.gitrepos }),
          ...(opts.bundles === undefined ? {} : { bundles: opts.bundles }),
          ...(opts.clusterSelector === undefined ? {} : { clusterSelector: opts.clusterSelector }),
          ...(opts.severity === undefined ? {} : { severity: opts.severity }),
        };
        const created = parseResponse(
          ruleSchema,
          await apiClientFor(cmd, ctx).post(`${base}/rules`, body),
          `POST ${base}/rules`,
        );
        printResult(
          output,
          created,
          { columns: ruleColumns, rows: [ruleRow(created)] },
          ctx.stdout,
        );
      },
    );
  rule
    .command('list')
    .description('list rules')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const raw = { items: await apiClientFor(cmd, ctx).list(`${base}/rules`) };
      const { items } = parseResponse(listSchema(ruleSchema), raw, `GET ${base}/rules`);
      printResult(
        output,
        raw,
        { columns: ruleColumns, rows: items.map(ruleRow), empty: 'No notification rules.' },
        ctx.stdout,
      );
    });
  rule
    .command('delete')
    .description('delete a rule')
    .argument('<name>', 'rule name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      await apiClientFor(cmd, ctx).delete(`${base}/rules/${encodeURIComponent(name)}`);
      if (output === 'table') ctx.stdout.write(`notification rule "${name}" deleted\n`);
      else printResult(output, { name, deleted: true }, { columns: [], rows: [] }, ctx.stdout);
    });

  return notification;
}
