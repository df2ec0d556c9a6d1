import { Command } from 'commander';
import type { BundlePlan, PlanChange, PlanSummary } from '../../libs/plans/index.js';
import { describeCounts, describeObject } from '../../libs/plans/index.js';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { formatTable, printResult } from '../output.js';

/** A plan as `POST /gitrepos/{name}/plan` and `GET /plans/{id}` return it. */
export interface PlanResult {
  id: string;
  gitrepo: string;
  commit: string;
  deployedCommit: string | null;
  branch: string | null;
  revision: string | null;
  trigger: string;
  createdAt: string;
  problems: string[];
  summary: PlanSummary;
  bundles: BundlePlan[];
}

function short(sha: string | null | undefined): string {
  return sha == null ? '-' : sha.slice(0, 8);
}

function changeLines(ch: PlanChange, indent: string, diffs: boolean): string[] {
  const lines: string[] = [];
  const more = (shown: number, total: number) =>
    total > shown ? [`${indent}... ${total - shown} more`] : [];
  for (const o of ch.added) lines.push(`${indent}+ ${describeObject(o)}`);
  lines.push(...more(ch.added.length, ch.counts.added));
  for (const o of ch.changed) {
    lines.push(`${indent}~ ${describeObject(o)}`);
    if (diffs) {
      const text = o.diff ?? '(diff left out: the plan reached its size limit)\n';
      for (const l of text.replace(/\n$/, '').split('\n')) lines.push(`${indent}    ${l}`);
    }
  }
  lines.push(...more(ch.changed.length, ch.counts.changed));
  for (const o of ch.removed) lines.push(`${indent}- ${describeObject(o)}`);
  lines.push(...more(ch.removed.length, ch.counts.removed));
  return lines;
}

function clusterList(names: string[], count: number): string {
  return `${names.join(', ')}${count > names.length ? `, ... (${count} in all)` : ''}`;
}

/** The human view of a plan: the terse line, a table of bundles, then what changes where. */
export function formatPlan(p: PlanResult, diffs: boolean): string {
  const asked =
    p.revision !== null ? `revision ${short(p.revision)}` : `branch ${p.branch ?? 'main'}`;
  const out: string[] = [
    `Plan ${p.id} of ${p.gitrepo} at ${short(p.commit)} (${asked}; clusters are told ${short(p.deployedCommit)} now)`,
    p.summary.text,
  ];
  for (const problem of p.problems) out.push(`problem: ${problem}`);
  if (p.summary.truncated)
    out.push('(lists or diffs were cut to keep the plan small; counts are complete)');
  out.push('');
  out.push(
    formatTable({
      columns: ['BUNDLE', 'CHANGE', 'OBJECTS', 'CLUSTERS', 'STAGES', 'HELD', 'ERROR'],
      rows: p.bundles.map((b) => [
        b.name,
        b.change,
        `+${b.blastRadius.objects.added} ~${b.blastRadius.objects.changed} -${b.blastRadius.objects.removed}`,
        b.blastRadius.clusters,
        b.blastRadius.stages.map((s) => `${s.name}:${s.clusterCount}`).join(' '),
        b.blastRadius.heldCount,
        b.error?.split('\n')[0] ?? '',
      ]),
      empty: 'No bundles.',
    }).trimEnd(),
  );
  for (const b of p.bundles) {
    const body: string[] = [];
    if (b.error !== undefined) {
      body.push('  error:', ...b.error.split('\n').map((l) => `    ${l}`));
    }
    for (const v of b.variants) {
      if (v.error !== undefined) {
        body.push(`  variant ${v.key}: does not render; its clusters keep what they run`);
        continue;
      }
      for (const ch of v.changes) {
        const named = v.customizations.length > 0 ? ` (${v.customizations.join(', ')})` : '';
        body.push(
          `  variant ${v.key}${named}, ${short(ch.fromRevision)} -> ${short(ch.toRevision)} on ${clusterList(ch.clusters, ch.clusterCount)}`,
          ...changeLines(ch, '    ', diffs),
        );
      }
    }
    for (const ch of b.leaving) {
      body.push(
        `  leaves ${clusterList(ch.clusters, ch.clusterCount)}`,
        ...changeLines(ch, '    ', diffs),
      );
    }
    for (const s of b.blastRadius.stages) {
      body.push(
        `  stage ${s.name}: ${clusterList(s.clusters, s.clusterCount)} (${s.objectChanges} object changes)`,
      );
    }
    for (const h of b.blastRadius.held) body.push(`  held: ${h.cluster}: ${h.reason}`);
    if (b.blastRadius.heldCount > b.blastRadius.held.length)
      body.push(`  held: ... ${b.blastRadius.heldCount - b.blastRadius.held.length} more`);
    if (body.length > 0) {
      const c = b.blastRadius;
      out.push(
        '',
        `${b.name} (${b.change}): ${describeCounts(c.objects, c.clusters, c.stages.length)}`,
        ...body,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/** `flotilla plan <gitrepo>`: what a commit would change on the fleet; deploys nothing. */
export function planCommand(ctx: CliContext): Command {
  return new Command('plan')
    .description(
      'show what a commit would change on which clusters (by rollout stage), without deploying it',
    )
    .argument('<gitrepo>', 'the GitRepo to plan')
    .option('--revision <sha>', 'plan this commit (a full sha)')
    .option('--branch <branch>', "plan the head of this branch (default: the GitRepo's)")
    .option('--id <id>', 'show a stored plan (by id or commit) instead of making one')
    .option('--diff', 'with -o table: print the unified diff of every changed object')
    .action(
      async (
        gitrepo: string,
        opts: { revision?: string; branch?: string; id?: string; diff?: boolean },
        cmd: Command,
      ) => {
        const { output } = globalOptions(cmd);
        if (opts.revision !== undefined && opts.branch !== undefined) {
          throw new Error('give --revision or --branch, not both');
        }
        const client = apiClientFor(cmd, ctx);
        const plan =
          opts.id !== undefined
            ? await client.get<PlanResult>(`/plans/${encodeURIComponent(opts.id)}`)
            : await client.post<PlanResult>(`/gitrepos/${encodeURIComponent(gitrepo)}/plan`, {
                ...(opts.revision === undefined ? {} : { revision: opts.revision }),
                ...(opts.branch === undefined ? {} : { branch: opts.branch }),
              });
        if (output === 'table') ctx.stdout.write(formatPlan(plan, opts.diff === true));
        else printResult(output, plan, { columns: [], rows: [] }, ctx.stdout);
      },
    );
}
