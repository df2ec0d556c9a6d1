import { MultiBar, type SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { HubUnreachableError, type ApiClient } from '../api-client.js';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import {
  formatAge,
  formatTable,
  printResult,
  type TableSpec,
  type Writer,
  isHumanOutput,
  toYaml,
} from '../output.js';

/** States of a whole rollout (DESIGN.md "Rollouts"). */
export type RolloutState =
  | 'Pending'
  | 'Progressing'
  | 'Paused'
  | 'Succeeded'
  | 'Failed'
  | 'Aborted'
  | 'RolledBack'
  | 'Superseded';

/** One cluster of a stage as the hub shows it. */
export interface RolloutCluster {
  name: string;
  state: string;
  reason?: string;
  releasedAt: string | null;
  readySince: string | null;
}

/** One stage of a rollout as the hub shows it. */
export interface RolloutStage {
  name: string;
  state: string;
  approved: boolean;
  startedAt: string | null;
  bakedSince: string | null;
  clusters: RolloutCluster[];
}

/** A rollout as `GET /api/v1/rollouts` returns it. */
export interface Rollout {
  id: string;
  bundle: string;
  fromCommit: string | null;
  toCommit: string;
  state: RolloutState;
  reason: string | null;
  failures: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  stages: RolloutStage[];
  unmatched: string[];
}

/** One audit entry: who did what, the state change, and the event's own fields. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  from: string | null;
  to: string | null;
  [detail: string]: unknown;
}

/** A rollout as `GET /api/v1/rollouts/{id}` returns it. */
export interface RolloutDetail extends Rollout {
  audit: AuditEntry[];
}

/** The operator actions, each a subcommand and a `POST /rollouts/{id}/<action>`. */
export const rolloutActions = [
  { name: 'pause', description: 'hold the rollout: release no more clusters, pass no more stages' },
  { name: 'resume', description: 'continue a paused rollout' },
  { name: 'promote', description: 'pass the current stage gate now (approval, bake time)' },
  {
    name: 'abort',
    description: 'stop the rollout; released clusters keep the new revision',
  },
  { name: 'rollback', description: 'stop the rollout and send released clusters back' },
] as const;

/** States after which a rollout never changes again. */
export const terminalStates: readonly RolloutState[] = [
  'Succeeded',
  'Failed',
  'Aborted',
  'RolledBack',
  'Superseded',
];

/** Whether a rollout in `state` is over for good. */
export function isTerminalState(state: string): boolean {
  return (terminalStates as readonly string[]).includes(state);
}

/** Whether `rollout watch` exits 1 for a rollout that ended in `state`. */
export function endedBadly(state: string): boolean {
  return state === 'Failed' || state === 'RolledBack';
}

/** Shortest id prefix accepted instead of a full rollout id. */
export const MIN_ID_PREFIX = 4;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The first 8 characters of a rollout id, as lists show it. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A commit as 8 hex digits; `<none>` for a first deployment (no previous commit). */
export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 8) : '<none>';
}

/** `0a1b2c3d→4e5f6a7b`: the commits a rollout goes between. */
export function commitRange(r: Pick<Rollout, 'fromCommit' | 'toCommit'>): string {
  return `${shortCommit(r.fromCommit)}→${shortCommit(r.toCommit)}`;
}

/** Clusters of the rollout's stages and how many of them Succeeded (unmatched ones excluded). */
export function clusterProgress(r: Pick<Rollout, 'stages'>): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const stage of r.stages) {
    total += stage.clusters.length;
    done += stage.clusters.filter((c) => c.state === 'Succeeded').length;
  }
  return { done, total };
}

/** `3/5`: Succeeded clusters of all staged clusters. */
export function formatProgress(r: Pick<Rollout, 'stages'>): string {
  const { done, total } = clusterProgress(r);
  return `${done}/${total}`;
}

/** The first stage that has not Succeeded, or undefined when every stage has. */
export function currentStage(r: Pick<Rollout, 'stages'>): RolloutStage | undefined {
  return r.stages.find((s) => s.state !== 'Succeeded');
}

/** Where one stage stands: its Succeeded clusters and the clusters in motion or failed. */
export interface StageSummary {
  name: string;
  state: string;
  done: number;
  total: number;
  updating: string[];
  baking: string[];
  failed: string[];
}

const FAILED_CLUSTER_STATES = ['Failed', 'TimedOut'];

/** Counts and names the clusters of a stage by what they are doing. */
export function summarizeStage(stage: RolloutStage): StageSummary {
  const named = (states: string[]) =>
    stage.clusters.filter((c) => states.includes(c.state)).map((c) => c.name);
  return {
    name: stage.name,
    state: stage.state,
    done: named(['Succeeded']).length,
    total: stage.clusters.length,
    updating: named(['Updating']),
    baking: named(['Baking']),
    failed: named(FAILED_CLUSTER_STATES),
  };
}

/** `c1, c2, c3 +2 more`: at most `max` names. */
export function shortList(names: readonly string[], max = 3): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} +${names.length - max} more`;
}

/** `Progressing 2/4; updating c2, c3; failed c4`: a stage in one line, without its name. */
export function formatStageSummary(s: StageSummary): string {
  const parts = [`${s.state} ${s.done}/${s.total}`];
  if (s.updating.length > 0) parts.push(`updating ${shortList(s.updating)}`);
  if (s.baking.length > 0) parts.push(`baking ${shortList(s.baking)}`);
  if (s.failed.length > 0) parts.push(`failed ${shortList(s.failed)}`);
  return parts.join('; ');
}

/**
 * The full rollout id for what the user typed: a full id as is, else the one id among `ids`
 * that starts with `input` (at least {@link MIN_ID_PREFIX} characters). Throws one clear error
 * for a short, unknown or ambiguous prefix.
 */
export function resolveRolloutId(input: string, ids: readonly string[]): string {
  const wanted = input.trim().toLowerCase();
  if (wanted.length < MIN_ID_PREFIX) {
    throw new Error(
      `rollout id "${input}" is too short: give the full id or at least ${MIN_ID_PREFIX} characters of it`,
    );
  }
  const exact = ids.find((id) => id.toLowerCase() === wanted);
  if (exact !== undefined) return exact;
  const matches = [...new Set(ids.filter((id) => id.toLowerCase().startsWith(wanted)))];
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new Error(`no rollout id starts with "${input}"`);
  throw new Error(
    `rollout id prefix "${input}" is ambiguous: it matches ${matches.length} rollouts (${shortList(matches.sort())}); give more characters`,
  );
}

/** Columns of `rollout list`. */
export const listColumns = ['ID', 'BUNDLE', 'FROM→TO', 'STATE', 'PROGRESS', 'STAGE', 'AGE'];

/** One row of `rollout list`. */
export function listRow(r: Rollout, now: number): string[] {
  return [
    shortId(r.id),
    r.bundle,
    commitRange(r),
    r.state,
    formatProgress(r),
    currentStage(r)?.name ?? '-',
    formatAge(r.createdAt, now),
  ];
}

/** What the action commands print with `-o table`: the rollout's new state and why. */
export function actionTable(r: Rollout): TableSpec {
  return {
    columns: ['ID', 'BUNDLE', 'STATE', 'PROGRESS', 'STAGE', 'REASON'],
    rows: [
      [
        shortId(r.id),
        r.bundle,
        r.state,
        formatProgress(r),
        currentStage(r)?.name ?? '-',
        firstLine(r.reason),
      ],
    ],
  };
}

/** The first line of a reason (reasons can quote multi-line agent messages). */
function firstLine(text: string | null | undefined): string {
  return (text ?? '').split('\n')[0] ?? '';
}

/** `2025-06-01T12:00:00Z`: an ISO time without milliseconds; the input when it is not a date. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const AUDIT_FIELDS = new Set(['at', 'actor', 'action', 'from', 'to']);
const DETAIL_ORDER = ['stage', 'cluster', 'fromCommit', 'toCommit', 'clusters'];

/**
 * The DETAIL of an audit entry: its fields as `key=value` (stage, cluster, commits first; commits
 * shortened, lists comma-separated), then its reason.
 */
export function formatAuditDetail(entry: AuditEntry): string {
  const extra = Object.entries(entry).filter(([k]) => !AUDIT_FIELDS.has(k));
  const rank = (k: string) => {
    const i = DETAIL_ORDER.indexOf(k);
    return i < 0 ? DETAIL_ORDER.length : i;
  };
  const pairs = extra
    .filter(([k, v]) => k !== 'reason' && v !== undefined && v !== null)
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${detailValue(k, v)}`);
  const reason = entry.reason;
  const text = typeof reason === 'string' ? firstLine(reason) : '';
  if (pairs.length === 0) return text;
  return text === '' ? pairs.join(' ') : `${pairs.join(' ')}: ${text}`;
}

function detailValue(key: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => detailValue(key, v)).join(',');
  if (typeof value === 'string') return /commit$/i.test(key) ? shortCommit(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** `Progressing→Paused`; an absent side is left empty (`→Pending` for a creation). */
export function formatTransition(from: string | null | undefined, to: string | null | undefined) {
  if (!from && !to) return '';
  return `${from ?? ''}→${to ?? ''}`;
}

/** One line saying what the rollout is, where it stands and why. */
export function summaryLine(r: Rollout, now: number): string {
  const { done, total } = clusterProgress(r);
  const reason = firstLine(r.reason);
  const finished = r.finishedAt ? `, finished ${formatAge(r.finishedAt, now)}` : '';
  return (
    `Rollout ${r.id} of ${r.bundle} ${commitRange(r)}: ${r.state}` +
    `${reason ? ` (${reason})` : ''}; ${done}/${total} clusters succeeded, ` +
    `${r.failures} failure(s); created ${formatAge(r.createdAt, now)}${finished}`
  );
}

/** A loud line naming clusters that match no stage, or undefined when there are none. */
export function unmatchedWarning(r: Pick<Rollout, 'unmatched'>): string | undefined {
  if (r.unmatched.length === 0) return undefined;
  return (
    `WARNING: ${r.unmatched.length} cluster(s) match no stage and are NOT updated by this ` +
    `rollout: ${r.unmatched.join(', ')}`
  );
}

/** What `rollout get` prints with `-o table`. */
export function formatRolloutDetail(r: RolloutDetail, now: number): string {
  const sections = [`${summaryLine(r, now)}\n`];
  sections.push(
    formatTable({
      columns: ['NAME', 'STATE', 'CLUSTERS'],
      rows: r.stages.map((s) => {
        const sum = summarizeStage(s);
        return [s.name, s.approved ? `${s.state} (promoted)` : s.state, `${sum.done}/${sum.total}`];
      }),
      empty: 'No stages.',
    }),
  );
  sections.push(
    formatTable({
      columns: ['CLUSTER', 'STAGE', 'STATE', 'REASON'],
      rows: r.stages.flatMap((s) =>
        s.clusters.map((c) => [c.name, s.name, c.state, firstLine(c.reason)]),
      ),
      empty: 'No clusters.',
    }),
  );
  const warning = unmatchedWarning(r);
  if (warning) sections.push(`${warning}\n`);
  sections.push(
    formatTable({
      columns: ['AT', 'ACTOR', 'ACTION', 'FROM→TO', 'DETAIL'],
      rows: r.audit.map((a) => [
        formatTime(a.at),
        a.actor,
        a.action,
        formatTransition(a.from, a.to),
        formatAuditDetail(a),
      ]),
      empty: 'No audit entries.',
    }),
  );
  return sections.join('\n');
}

/** `rollout 1a2b3c4d ring/app <none>→4e5f6a7b`: which rollout a watch line is about. */
function rolloutLabel(r: Rollout): string {
  return `rollout ${shortId(r.id)} ${r.bundle} ${commitRange(r)}`;
}

/** The header of `rollout watch`: the rollout, its state and overall progress. */
export function watchHeader(r: Rollout): string {
  const reason = firstLine(r.reason);
  return `${rolloutLabel(r)}: ${r.state} ${formatProgress(r)} clusters${reason ? ` (${reason})` : ''}`;
}

function stageLine(s: StageSummary): string {
  return `stage ${s.name}: ${formatStageSummary(s)}`;
}

/**
 * The lines `rollout watch` prints when stdout is not a terminal: everything for the first
 * snapshot (`prev` undefined), then a line for a changed rollout state and one per stage whose
 * state or cluster counts changed. No change, no lines.
 */
export function watchChangeLines(prev: Rollout | undefined, next: Rollout): string[] {
  const nextStages = next.stages.map(summarizeStage);
  if (prev === undefined) return [watchHeader(next), ...nextStages.map(stageLine)];
  const lines: string[] = [];
  if (prev.state !== next.state) {
    const reason = firstLine(next.reason);
    lines.push(`state: ${prev.state} → ${next.state}${reason ? ` (${reason})` : ''}`);
  }
  const before = new Map(prev.stages.map((s) => [s.name, stageKey(summarizeStage(s))]));
  for (const s of nextStages) {
    if (before.get(s.name) !== stageKey(s)) lines.push(stageLine(s));
  }
  return lines;
}

function stageKey(s: StageSummary): string {
  return JSON.stringify([s.state, s.done, s.total, s.updating, s.baking, s.failed]);
}

/** The last line of `rollout watch`: how the rollout ended. */
export function watchFinalLine(r: Rollout): string {
  const { done, total } = clusterProgress(r);
  const failed = r.stages.flatMap((s) => summarizeStage(s).failed);
  const reason = firstLine(r.reason);
  return (
    `${rolloutLabel(r)} ended ${r.state}: ${done}/${total} clusters succeeded` +
    `${failed.length > 0 ? `, ${failed.length} failed (${shortList(failed)})` : ''}` +
    `${reason ? ` — ${reason}` : ''}`
  );
}

const BAR_WIDTH = 24;

/** A stage as one progress-bar line: name, bar, counts, state and the clusters in motion. */
export function stageBarLine(s: StageSummary, nameWidth: number, barWidth = BAR_WIDTH): string {
  const filled = s.total === 0 ? barWidth : Math.round((s.done / s.total) * barWidth);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}`;
  const parts = [`${s.state}`];
  if (s.updating.length > 0) parts.push(`updating ${shortList(s.updating)}`);
  if (s.baking.length > 0) parts.push(`baking ${shortList(s.baking)}`);
  if (s.failed.length > 0) parts.push(`failed ${shortList(s.failed)}`);
  return `${s.name.padEnd(nameWidth)} ${bar} ${s.done}/${s.total}  ${parts.join('; ')}`;
}

/** How `rollout watch` shows each snapshot. */
interface WatchView {
  show(r: Rollout): void;
  /** A transient problem (the hub unreachable for a moment). */
  warn(message: string): void;
  /** Ends the display after the last snapshot. */
  close(): void;
}

/** One plain line per change, for pipes and CI logs. */
function lineView(out: Writer, err: Writer): WatchView {
  let prev: Rollout | undefined;
  return {
    show(r) {
      for (const line of watchChangeLines(prev, r)) out.write(`${line}\n`);
      prev = r;
    },
    warn(message) {
      err.write(`${message}\n`);
    },
    close() {},
  };
}

/** Every changed snapshot as one JSON line, or as one YAML document. */
function documentView(format: 'json' | 'yaml', out: Writer, err: Writer): WatchView {
  let last = '';
  return {
    show(r) {
      const text = JSON.stringify(r);
      if (text === last) return;
      last = text;
      out.write(format === 'json' ? `${text}\n` : `---\n${toYaml(r)}`);
    },
    warn(message) {
      err.write(`${message}\n`);
    },
    close() {},
  };
}

/** Live bars on a terminal: a header line, then one cli-progress bar per stage. */
function barView(stream: NodeJS.WritableStream): WatchView {
  const multibar = new MultiBar({
    stream,
    format: (_options, _params, payload: { line?: string }) => payload.line ?? '',
    hideCursor: true,
    clearOnComplete: false,
    autopadding: false,
    linewrap: false,
  });
  let header: SingleBar | undefined;
  let bars: SingleBar[] = [];
  let warning = '';
  let last: Rollout | undefined;
  const onSignal = () => {
    multibar.stop();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  const draw = (r: Rollout) => {
    const stages = r.stages.map(summarizeStage);
    const width = Math.max(0, ...stages.map((s) => s.name.length));
    const headerLine = `${watchHeader(r)}${warning ? `  [${warning}]` : ''}`;
    if (header === undefined) {
      header = multibar.create(1, 0, { line: headerLine });
      bars = stages.map((s) =>
        multibar.create(Math.max(1, s.total), s.done, { line: stageBarLine(s, width) }),
      );
      return;
    }
    header.update(0, { line: headerLine });
    stages.forEach((s, i) => bars[i]?.update(s.done, { line: stageBarLine(s, width) }));
  };
  return {
    show(r) {
      warning = '';
      last = r;
      draw(r);
    },
    warn(message) {
      warning = message;
      if (last) draw(last);
    },
    close() {
      multibar.stop();
      process.removeListener('SIGINT', onSignal);
    },
  };
}

function isTty(out: Writer): out is Writer & NodeJS.WritableStream & { isTTY: true } {
  return (out as { isTTY?: unknown }).isTTY === true;
}

/** How long `rollout watch` keeps retrying while the hub cannot be reached. */
const UNREACHABLE_GRACE_MS = 30_000;

/** Parses `--interval` in seconds. */
export function parseInterval(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`--interval "${value}": expected a positive number of seconds, e.g. 1 or 0.5`);
  }
  return seconds;
}

/** The full id of the rollout the user means; see {@link resolveRolloutId}. */
async function resolveId(client: ApiClient, input: string): Promise<string> {
  const trimmed = input.trim();
  if (UUID.test(trimmed)) return trimmed.toLowerCase();
  if (trimmed.length < MIN_ID_PREFIX) return resolveRolloutId(trimmed, []);
  const all = await client.list<Pick<Rollout, 'id'>>('/rollouts', { limit: 1000 });
  return resolveRolloutId(trimmed, [...new Set(all.map((r) => r.id))]);
}

function rolloutPath(id: string): string {
  return `/rollouts/${encodeURIComponent(id)}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `rollout` command: staged rollouts, their progress and the operator actions. */
export function rolloutCommand(ctx: CliContext): Command {
  const rollout = new Command('rollout').description(
    'follow and steer staged rollouts of bundles (IDs: the full id or a unique prefix of 4+ characters)',
  );

  rollout
    .command('list')
    .description('list rollouts, newest first')
    .option('--bundle <bundle>', 'only rollouts of this bundle (e.g. myrepo/app)')
    .option('--state <state>', 'only rollouts in this state (e.g. Progressing)')
    .action(async (opts: { bundle?: string; state?: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const items = await apiClientFor(cmd, ctx).list<Rollout>('/rollouts', {
        bundle: opts.bundle,
        state: opts.state,
      });
      printResult(
        output,
        { items },
        {
          columns: listColumns,
          rows: items.map((r) => listRow(r, ctx.now())),
          empty: 'No rollouts found.',
          kind: 'rollout',
          names: items.map((r) => r.id),
        },
        ctx.stdout,
      );
    });

  rollout
    .command('get')
    .description('show a rollout: stages, clusters, unmatched clusters and the audit trail')
    .argument('<id>', 'rollout id or unique prefix')
    .action(async (input: string, _opts: unknown, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const client = apiClientFor(cmd, ctx);
      const id = await resolveId(client, input);
      const r = await client.get<RolloutDetail>(rolloutPath(id));
      if (isHumanOutput(output)) ctx.stdout.write(formatRolloutDetail(r, ctx.now()));
      else
        printResult(
          output,
          r,
          { columns: [], rows: [], kind: 'rollout', names: [r.id] },
          ctx.stdout,
        );
    });

  for (const action of rolloutActions) {
    const command = rollout
      .command(action.name)
      .description(action.description)
      .argument('<id>', 'rollout id or unique prefix')
      .option('--reason <text>', 'why, recorded in the audit trail');
    if (action.name === 'promote') {
      command.option(
        '--stage <name>',
        'the stage you mean to promote; refused if another stage is current by then',
      );
    }
    command.action(
      async (input: string, opts: { reason?: string; stage?: string }, cmd: Command) => {
        const { output } = globalOptions(cmd);
        const client = apiClientFor(cmd, ctx);
        const id = await resolveId(client, input);
        const r = await client.post<Rollout>(`${rolloutPath(id)}/${action.name}`, {
          ...(opts.reason === undefined ? {} : { reason: opts.reason }),
          ...(opts.stage === undefined ? {} : { stage: opts.stage }),
        });
        printResult(output, r, actionTable(r), ctx.stdout);
      },
    );
  }

  rollout
    .command('watch')
    .description('follow a rollout live until it ends; exits 1 when it ended Failed or RolledBack')
    .argument('<id>', 'rollout id or unique prefix')
    .option('--interval <seconds>', 'how often to poll the hub', '1')
    .action(async (input: string, opts: { interval: string }, cmd: Command) => {
      const { output } = globalOptions(cmd);
      const seconds = parseInterval(opts.interval);
      const client = apiClientFor(cmd, ctx);
      const id = await resolveId(client, input);
      const view =
        output === 'json' || output === 'yaml'
          ? documentView(output, ctx.stdout, ctx.stderr)
          : isTty(ctx.stdout)
            ? barView(ctx.stdout)
            : lineView(ctx.stdout, ctx.stderr);
      let last: Rollout | undefined;
      try {
        // The hub may restart while a rollout runs: keep polling through a short outage, but
        // only once it answered at least once, and say so once per outage.
        let outageSince: number | undefined;
        for (;;) {
          let r: RolloutDetail;
          try {
            r = await client.get<RolloutDetail>(rolloutPath(id));
          } catch (err) {
            if (!(err instanceof HubUnreachableError) || last === undefined) throw err;
            if (outageSince === undefined) {
              outageSince = ctx.now();
              view.warn(`${err.message}; retrying for up to ${UNREACHABLE_GRACE_MS / 1000}s`);
            } else if (ctx.now() - outageSince > UNREACHABLE_GRACE_MS) {
              throw err;
            }
            await sleep(seconds * 1000);
            continue;
          }
          outageSince = undefined;
          const { audit: _audit, ...snapshot } = r;
          last = snapshot;
          view.show(snapshot);
          if (isTerminalState(snapshot.state)) break;
          await sleep(seconds * 1000);
        }
      } finally {
        view.close();
      }
      if (isHumanOutput(output)) ctx.stdout.write(`${watchFinalLine(last)}\n`);
      if (endedBadly(last.state)) {
        throw new Error(`rollout ${shortId(last.id)} ended ${last.state}`);
      }
    });

  return rollout;
}
