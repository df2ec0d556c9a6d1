import { Command, InvalidArgumentError } from 'commander';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { parseLabelArgs } from '../labels.js';
import { formatAge, formatLabels, isHumanOutput, printResult } from '../output.js';
import { parsePositiveInt } from './cluster.js';

/** An API token as the hub lists it (never with its secret). */
interface ApiToken {
  name: string;
  role: string;
  description: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** A registration token as the hub lists it (never with its secret). */
interface RegistrationToken {
  id: string;
  description: string | null;
  labels: Record<string, string>;
  maxUses: number | null;
  uses: number;
  expiresAt: string | null;
  createdAt: string;
}

const roles = ['viewer', 'operator', 'admin'];

function parseRole(value: string): string {
  if (!roles.includes(value)) {
    throw new InvalidArgumentError(`"${value}" is not a role: ${roles.join(', ')}`);
  }
  return value;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const apiTokenColumns = ['NAME', 'ROLE', 'EXPIRES', 'LAST USED', 'DESCRIPTION'];
function apiTokenRow(t: ApiToken, now: number): string[] {
  return [
    t.name,
    t.role,
    t.expiresAt ?? 'never',
    t.lastUsedAt === null ? 'never' : formatAge(t.lastUsedAt, now),
    t.description ?? '',
  ];
}

/** `flotilla token create|list|get|delete`: API tokens for people and CI (admins only). */
export function tokenCommand(ctx: CliContext): Command {
  const token = new Command('token').description(
    'manage API tokens (roles viewer, operator, admin; admin only)',
  );
  token
    .command('create')
    .description('create an API token; its secret is shown once')
    .argument('<name>', 'token name, e.g. ci-deployer')
    .requiredOption('--role <role>', `role: ${roles.join(', ')}`, parseRole)
    .option('--ttl <duration>', 'lifetime, e.g. 720h (default: no expiry)')
    .option('--description <text>', 'what the token is for')
    .action(
      async (
        name: string,
        opts: { role: string; ttl?: string; description?: string },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        const created = await apiClientFor(cmd, ctx).post<ApiToken & { token: string }>(
          '/api-tokens',
          { name, role: opts.role, ttl: opts.ttl, description: opts.description },
        );
        printResult(
          output,
          created,
          { columns: apiTokenColumns, rows: [apiTokenRow(created, ctx.now())], kind: 'token' },
          ctx.stdout,
        );
        if (isHumanOutput(output)) {
          ctx.stdout.write(`\nToken (shown once):\n  ${created.token}\n`);
        }
      },
    );
  token
    .command('list')
    .description('list API tokens (without their secrets)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const items = await apiClientFor(cmd, ctx).list<ApiToken>('/api-tokens');
      const now = ctx.now();
      printResult(
        output,
        { items },
        {
          columns: apiTokenColumns,
          rows: items.map((t) => apiTokenRow(t, now)),
          empty: 'No API tokens.',
          kind: 'token',
        },
        ctx.stdout,
      );
    });
  token
    .command('get')
    .description('show an API token (without its secret)')
    .argument('<name>', 'token name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const t = await apiClientFor(cmd, ctx).get<ApiToken>(
        `/api-tokens/${encodeURIComponent(name)}`,
      );
      printResult(
        output,
        t,
        { columns: apiTokenColumns, rows: [apiTokenRow(t, ctx.now())], kind: 'token' },
        ctx.stdout,
      );
    });
  token
    .command('delete')
    .description('revoke an API token at once')
    .argument('<name>', 'token name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await apiClientFor(cmd, ctx).delete(`/api-tokens/${encodeURIComponent(name)}`);
      ctx.stdout.write(`token "${name}" deleted\n`);
    });
  return token;
}

const registrationColumns = ['ID', 'USES', 'EXPIRES', 'LABELS', 'DESCRIPTION'];
function registrationRow(t: RegistrationToken): string[] {
  return [
    t.id,
    t.maxUses === null ? `${t.uses}` : `${t.uses}/${t.maxUses}`,
    t.expiresAt ?? 'never',
    formatLabels(t.labels),
    t.description ?? '',
  ];
}

/**
 * `flotilla registration-token create|list|delete`: tokens with which agents register their
 * own cluster (admins only).
 */
export function registrationTokenCommand(ctx: CliContext): Command {
  const token = new Command('registration-token').description(
    'manage registration tokens, with which agents register their own cluster (admin only)',
  );
  token
    .command('create')
    .description('create a registration token; its secret is shown once')
    .option('--ttl <duration>', 'lifetime, e.g. 1h (default 24h)')
    .option('--max-uses <n>', 'how many clusters may register with it', parsePositiveInt)
    .option(
      '--label <key=value>',
      'label of every cluster registered with it (repeatable)',
      collect,
      [],
    )
    .option('--description <text>', 'what the token is for')
    .action(
      async (
        opts: { ttl?: string; maxUses?: number; label: string[]; description?: string },
        cmd: Command,
      ) => {
        const { output, server } = globalOptions(cmd);
        const { set: labels } = parseLabelArgs(opts.label, { allowRemove: false });
        const created = await apiClientFor(cmd, ctx).post<RegistrationToken & { token: string }>(
          '/registration-tokens',
          {
            ttl: opts.ttl,
            maxUses: opts.maxUses,
            labels: opts.label.length > 0 ? labels : undefined,
            description: opts.description,
          },
        );
        printResult(
          output,
          created,
          {
            columns: registrationColumns,
            rows: [registrationRow(created)],
            kind: 'registration-token',
          },
          ctx.stdout,
        );
        if (isHumanOutput(output)) {
          ctx.stdout.write(
            `\nRegistration token (shown once):\n  ${created.token}\n\n` +
              `An agent registers its cluster with it:\n` +
              `  flotilla agent --hub ${server} --token ${created.token} --name NAME --simulate\n`,
          );
        }
      },
    );
  token
    .command('list')
    .description('list registration tokens (without their secrets)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const items = await apiClientFor(cmd, ctx).list<RegistrationToken>('/registration-tokens');
      printResult(
        output,
        { items },
        {
          columns: registrationColumns,
          rows: items.map(registrationRow),
          empty: 'No registration tokens.',
          kind: 'registration-token',
        },
        ctx.stdout,
      );
    });
  token
    .command('delete')
    .description('revoke a registration token')
    .argument('<id>', 'token id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await apiClientFor(cmd, ctx).delete(`/registration-tokens/${encodeURIComponent(id)}`);
      ctx.stdout.write(`registration token "${id}" deleted\n`);
    });
  return token;
}
