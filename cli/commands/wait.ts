import { Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../../libs/config/duration.js';
import { apiClientFor, globalOptions, type CliContext } from '../context.js';
import { isHumanOutput, printResult } from '../output.js';
import { clusterSchema, listSchema, parseResponse } from '../resources.js';

/** One deployment of a bundle, as `GET /bundles/{name}` lists it. */
export interface WaitDeployment {
  cluster: string;
  state: string;
  message?: string | null;
  commit: string | null;
}

/** A cluster that has not got there yet, and why. */
export interface WaitPending {
  cluster: string;
  reason: string;
}

/** Where the wait stands. */
export interface WaitProgress {
  done: boolean;
  ready: string[];
  pending: WaitPending[];
}

/** Whether `commit` is `wanted` or starts with it (a short SHA). */
function sameCommit(commit: string | null, wanted: string): boolean {
  return commit !== null && commit.toLowerCase().startsWith(wanted.toLowerCase());
}

/**
 * Whether `commit` reached every cluster of `clusters`: each has at least one deployment of
 * the selected bundles, and every such deployment runs that commit and is Ready.
 */
export function evaluateWait(
  commit: string,
  clusters: readonly string[],
  bundles: ReadonlyMap<string, readonly WaitDeployment[]>,
): WaitProgress {
  const ready: string[] = [];
  const pending: WaitPending[] = [];
  for (const cluster of [...clusters].sort()) {
    const problems: string[] = [];
    let seen = 0;
    for (const [bundle, deployments] of [...bundles].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const d of deployments) {
        if (d.cluster !== cluster) continue;
        seen += 1;
        if (!sameCommit(d.commit, commit)) {
          problems.push(`${bundle} is at ${d.commit?.slice(0, 8) ?? 'no commit'}`);
        } else if (d.state !== 'Ready') {
          problems.push(`${bundle} is ${d.state}${d.message ? `: ${d.message}` : ''}`);
        }
      }
    }
    if (seen === 0) problems.push('no deployment of the selected bundles');
    if (problems.length === 0) ready.push(cluster);
    else pending.push({ cluster, reason: problems.join('; ') });
  }
  return { done: clusters.length > 0 && pending.length === 0, ready, pending };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseTimeout(value: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a duration such as 30s, 10m or 1h`);
  }
}

interface WaitOptions {
  repo?: string;
  bundle: string[];
  commit?: string;
  cluster: string[];
  selector?: string;
  timeout: number;
  interval: number;
}

/**
 * `flotilla wait`: blocks until a commit runs Ready on a set of clusters, for CI pipelines.
 * Exits 0 when it did, 1 (listing the clusters left and why) when the timeout passed first.
 */
export function waitCommand(ctx: CliContext): Command {
  return new Command('wait')
    .description(
      'wait until a commit of a GitRepo (or bundles) is Ready on a set of clusters; exits 1 on timeout (for CI)',
    )
    .option('--repo <name>', 'the GitRepo whose bundles to wait for')
    .option(
      '--bundle <name>',
      'a bundle to wait for (repeatable; default: all of --repo)',
      collect,
      [],
    )
    .option(
      '--commit <sha>',
      "commit (or its prefix) to wait for (default: the GitRepo's current one)",
    )
    .option('--cluster <name>', 'a cluster to wait for (repeatable)', collect, [])
    .option('-l, --selector <selector>', 'the clusters matching this label selector')
    .option('--timeout <duration>', 'give up after this long, e.g. 10m', parseTimeout, 600_000)
    .option('--interval <duration>', 'how often to ask the hub', parseTimeout, 2_000)
    .action(async (opts: WaitOptions, cmd: Command) => {
      const { output } = globalOptions(cmd);
      if (opts.repo === undefined && opts.bundle.length === 0) {
        throw new InvalidArgumentError('give --repo NAME or --bundle NAME');
      }
      if (opts.commit !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(opts.commit)) {
        throw new InvalidArgumentError(`"${opts.commit}" is not a commit SHA (or a prefix of 4+)`);
      }
      const client = apiClientFor(cmd, ctx);
      // Real elapsed time (ctx.now is the clock of what is displayed, which tests pin).
      const clock = () => performance.now();
      const deadline = clock() + opts.timeout;
      const started = clock();
      let commit = opts.commit;
      if (commit === undefined) {
        if (opts.repo === undefined) throw new InvalidArgumentError('give --commit with --bundle');
        // A GitRepo just added has not synced yet: its first commit is waited for too.
        for (;;) {
          const repo = await client.get<{ status?: { commit?: string | null } }>(
            `/gitrepos/${encodeURIComponent(opts.repo)}`,
          );
          commit = repo.status?.commit ?? undefined;
          if (commit) break;
          if (clock() + opts.interval > deadline) {
            throw new WaitTimeoutError(
              `timed out: GitRepo "${opts.repo}" synced no commit within ${Math.round((clock() - started) / 1000)}s`,
            );
          }
          await new Promise((r) => setTimeout(r, opts.interval));
        }
      }
      let progress: WaitProgress;
      let lastReport = '';
      for (;;) {
        const clusters = await selectedClusters(client, opts);
        const bundles = new Map<string, WaitDeployment[]>();
        const names =
          opts.bundle.length > 0
            ? opts.bundle
            : (await client.list<{ name: string }>('/bundles', { gitrepo: opts.repo })).map(
                (b) => b.name,
              );
        for (const name of names) {
          const detail = await client.get<{ deployments?: WaitDeployment[] }>(
            `/bundles/${encodeURIComponent(name)}`,
          );
          bundles.set(name, detail.deployments ?? []);
        }
        progress = evaluateWait(commit, clusters, bundles);
        if (progress.done) break;
        if (isHumanOutput(output)) {
          const report = `waiting for ${commit.slice(0, 8)}: ${progress.ready.length}/${clusters.length} clusters ready`;
          if (report !== lastReport) ctx.stderr.write(`${report}\n`);
          lastReport = report;
        }
        if (clock() + opts.interval > deadline) break;
        await new Promise((r) => setTimeout(r, opts.interval));
      }
      const seconds = Math.round((clock() - started) / 1000);
      const result = { commit, ...progress, seconds };
      if (!isHumanOutput(output)) {
        printResult(output, result, { columns: [], rows: [], names: progress.ready }, ctx.stdout);
      } else if (progress.done) {
        ctx.stdout.write(
          `commit ${commit.slice(0, 8)} is Ready on ${progress.ready.length} cluster(s) after ${seconds}s\n`,
        );
      } else {
        ctx.stdout.write(
          `timed out after ${seconds}s: ${progress.pending.length} cluster(s) without commit ${commit.slice(0, 8)} Ready:\n` +
            progress.pending.map((p) => `  ${p.cluster}: ${p.reason}\n`).join(''),
        );
      }
      if (!progress.done) {
        throw new WaitTimeoutError(
          progress.ready.length === 0 && progress.pending.length === 0
            ? 'no cluster matched'
            : `timed out waiting for commit ${commit.slice(0, 8)}`,
        );
      }
    });
}

/** The timeout of `flotilla wait` passed before the commit got everywhere. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

async function selectedClusters(
  client: ReturnType<typeof apiClientFor>,
  opts: WaitOptions,
): Promise<string[]> {
  const names = new Set<string>();
  if (opts.selector !== undefined || opts.cluster.length === 0) {
    const raw = { items: await client.list('/clusters', { labelSelector: opts.selector }) };
    for (const c of parseResponse(listSchema(clusterSchema), raw, 'GET /clusters').items) {
      names.add(c.name);
    }
  }
  for (const name of opts.cluster) {
    // A cluster that does not exist is a mistake to report at once (404), not to wait for.
    await client.get(`/clusters/${encodeURIComponent(name)}`);
    names.add(name);
  }
  return [...names];
}
