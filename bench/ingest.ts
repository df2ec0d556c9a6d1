// Hub ingest capacity: a burst of status reports, published as agents publish them from a
// child process, timed until the hub has written the last of them to PostgreSQL.
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { BurstDeployment, PublisherReply, PublisherRequest } from './ingest-publisher.js';

/** A burst has at least this many reports (more rounds for a small fleet). */
const MIN_BURST_REPORTS = 10_000;
const POLL_MS = 20;

export interface IngestBurst {
  /** Reports published (and acked by the stream). */
  reports: number;
  /** Reports the hub counted as written (flotilla_status_reports_total delta). */
  written: number;
  rounds: number;
  /** From the first publish until the last report is in PostgreSQL. */
  seconds: number;
  /** From the first publish until the stream acked the last one. */
  publishSeconds: number;
  /** CPU time (user + system) of this process, the hub's, over the burst. */
  hubCpuSeconds: number;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Publishes `rounds` status reports for every deployment the fleet runs (its applied revision,
 * alternately Modified and Ready, ending Ready) and waits until PostgreSQL holds the last
 * round's report of every deployment. The stream delivers in order, so by then every earlier
 * report was written too.
 */
export async function measureIngest(opts: {
  natsUrl: string;
  prefix: string;
  db: pg.Client;
  timeoutMs: number;
  /** flotilla_status_reports_total of the hub. */
  reportsWritten: () => Promise<number>;
  /** CPU time (seconds) the hubs have used so far. */
  hubCpuSeconds: () => number;
}): Promise<IngestBurst> {
  const rows = await opts.db.query<{
    cluster: string;
    bundle: string;
    revision: string;
    resources: BurstDeployment['resources'];
  }>(
    `SELECT cluster, bundle, applied_revision AS revision, resources FROM deployments
      WHERE applied_revision IS NOT NULL ORDER BY cluster, bundle`,
  );
  const deployments: BurstDeployment[] = rows.rows;
  if (deployments.length === 0) throw new Error('ingest: no deployment has a revision applied');
  const rounds = Math.max(2, 2 * Math.ceil(MIN_BURST_REPORTS / (2 * deployments.length)));

  const child = fork(new URL('./ingest-publisher.js', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: PublisherReply[] = [];
  let wake: () => void = () => undefined;
  child.on('message', (m: PublisherReply) => {
    replies.push(m);
    wake();
  });
  child.on('exit', (code) => {
    replies.push({ op: 'error', error: `publisher exited (${code})` });
    wake();
  });
  const next = async <K extends PublisherReply['op']>(
    op: K,
  ): Promise<Extract<PublisherReply, { op: K }>> => {
    while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const m = replies.shift()!;
    if (m.op === 'error') throw new Error(`ingest publisher: ${m.error}`);
    if (m.op !== op) throw new Error(`ingest publisher: expected ${op}, got ${m.op}`);
    return m as Extract<PublisherReply, { op: K }>;
  };
  const request = (req: PublisherRequest): void => void child.send(req);
  try {
    request({
      op: 'prepare',
      natsUrl: opts.natsUrl,
      prefix: opts.prefix,
      deployments,
      rounds,
    });
    const { reports, lastRoundAt } = await next('prepared');
    const writtenBefore = await opts.reportsWritten();
    const cpu = opts.hubCpuSeconds();
    const started = now();
    request({ op: 'publish' });
    const published = next('published');
    let failed: Error | undefined;
    published.catch(
      (err: unknown) => (failed = err instanceof Error ? err : new Error(String(err))),
    );
    const deadline = started + opts.timeoutMs;
    let done = 0;
    let used = 0;
    for (;;) {
      await sleep(POLL_MS);
      if (failed !== undefined) throw failed;
      // Half a millisecond below the last round's observedAt: the round before is 1 ms older.
      const r = await opts.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM deployments
          WHERE state = 'Ready' AND reported_at > to_timestamp(($1::double precision - 0.5) / 1000)`,
        [lastRoundAt],
      );
      if (Number(r.rows[0]?.n ?? 0) >= deployments.length) {
        done = now();
        used = opts.hubCpuSeconds() - cpu;
        break;
      }
      if (now() > deadline) throw new Error(`ingest: not written after ${opts.timeoutMs} ms`);
    }
    const p = await published;
    const written = (await opts.reportsWritten()) - writtenBefore;
    return {
      reports,
      written,
      rounds,
      seconds: (done - started) / 1000,
      publishSeconds: (p.lastAckAt - started) / 1000,
      hubCpuSeconds: used,
    };
  } finally {
    if (child.connected) child.disconnect();
  }
}
