// The bench's observer, in its own process so that its work is not counted as the hub's CPU:
// - `watch`: subscribes to every agent's desired-state subject and notes when the hub has
//   published the commit to every (cluster, bundle) of the fleet (fan-out time);
// - `api`: calls the REST API over and over (one request at a time) and keeps each call's
//   latency, until `apiStop`.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseJson } from '../libs/nats/index.js';

export type ProbeRequest =
  | { op: 'watch'; natsUrl: string; subject: string; commit: string; expected: number }
  | { op: 'watchResult' }
  | { op: 'api'; hubUrl: string; token: string; paths: string[] }
  | { op: 'apiStop' };

export interface WatchResult {
  /** (cluster, bundle) pairs seen with the commit. */
  seen: number;
  /** Desired-state messages received while watching. */
  messages: number;
  /** When the last pair was first seen (epoch ms), 0 when none. */
  lastAt: number;
}

/** Latencies (ms) by path, and failed calls. */
export interface ApiResult {
  latencies: Record<string, number[]>;
  errors: number;
}

export type ProbeReply =
  { op: ProbeRequest['op']; ok: true; value?: unknown } | { ok: false; error: string };

const now = (): number => performance.timeOrigin + performance.now();

let nc: NatsConnection | undefined;
const watched = { seen: new Set<string>(), messages: 0, lastAt: 0 };
let apiRunning: Promise<ApiResult> | undefined;
let apiStopping = false;

async function watch(req: Extract<ProbeRequest, { op: 'watch' }>): Promise<void> {
  nc = await connect({ servers: req.natsUrl.split(','), name: 'flotilla-bench-probe' });
  const prefixDepth = req.subject.split('.').indexOf('*');
  nc.subscribe(req.subject, {
    callback: (err, msg) => {
      if (err) return;
      watched.messages++;
      const cluster = msg.subject.split('.')[prefixDepth]!;
      const body = parseJson(msg.data) as { changes?: unknown[] } | null;
      const changes = Array.isArray(body?.changes) ? body.changes : [body];
      for (const c of changes as { kind?: string; bundle?: string; commit?: string }[]) {
        if (c?.kind !== 'Upsert' || c.commit !== req.commit) continue;
        const key = `${cluster}\u0000${c.bundle}`;
        if (watched.seen.has(key)) continue;
        watched.seen.add(key);
        watched.lastAt = now();
      }
    },
  });
  await nc.flush();
}

async function probeApi(req: Extract<ProbeRequest, { op: 'api' }>): Promise<ApiResult> {
  const result: ApiResult = {
    latencies: Object.fromEntries(req.paths.map((p) => [p, []])),
    errors: 0,
  };
  while (!apiStopping) {
    for (const path of req.paths) {
      const started = performance.now();
      try {
        const res = await fetch(`${req.hubUrl}/api/v1${path}`, {
          headers: { authorization: `Bearer ${req.token}` },
        });
        await res.arrayBuffer();
        if (res.ok) result.latencies[path]!.push(performance.now() - started);
        else result.errors++;
      } catch {
        result.errors++;
      }
    }
  }
  return result;
}

async function handle(req: ProbeRequest): Promise<unknown> {
  switch (req.op) {
    case 'watch':
      return watch(req);
    case 'watchResult': {
      const value: WatchResult = {
        seen: watched.seen.size,
        messages: watched.messages,
        lastAt: watched.lastAt,
      };
      await nc?.close();
      nc = undefined;
      return value;
    }
    case 'api':
      apiStopping = false;
      apiRunning = probeApi(req);
      return undefined;
    case 'apiStop': {
      apiStopping = true;
      const value = await apiRunning;
      apiRunning = undefined;
      return value;
    }
  }
}

process.on('message', (req: ProbeRequest) => {
  handle(req).then(
    (value) => process.send?.({ op: req.op, ok: true, value } satisfies ProbeReply),
    (err: unknown) => process.send?.({ ok: false, error: String(err) } satisfies ProbeReply),
  );
});
process.on('disconnect', () => {
  apiStopping = true;
  void (nc?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
