// The child process of the ingest measurement (bench/ingest.ts): publishes a burst of status
// reports exactly as agents do (JetStream publishes with a Nats-Msg-Id on `status(cluster)`,
// StatusBatch JSON: a cluster's reports of one moment in one message), as fast as one connection can, in its own process so that the hub's
// process spends nothing on publishing.
import { randomUUID } from 'node:crypto';
import { connect, createInbox, headers, type NatsConnection } from '@nats-io/transport-node';
import {
  createSubjects,
  MAX_REPORTS_PER_MESSAGE,
  StatusReportSchema,
  type StatusBatch,
  type StatusReport,
} from '../libs/contracts/index.js';

/** One deployment of the fleet, as the hub holds it after convergence. */
export interface BurstDeployment {
  cluster: string;
  bundle: string;
  revision: string;
  resources: StatusReport['resources'];
}

/** parent → child. */
export type PublisherRequest =
  | {
      op: 'prepare';
      natsUrl: string;
      prefix: string;
      deployments: BurstDeployment[];
      rounds: number;
    }
  | { op: 'publish' };

/** child → parent. */
export type PublisherReply =
  | {
      op: 'prepared';
      reports: number;
      /** observedAt (epoch ms) of every report of the last round. */
      lastRoundAt: number;
    }
  | {
      op: 'published';
      /** Epoch ms of the first publish and of the last stream ack. */
      firstAt: number;
      lastAckAt: number;
    }
  | { op: 'error'; error: string };

/** Publishes kept in flight (not acked by the stream yet) at once. */
const WINDOW = 4096;

const now = (): number => performance.timeOrigin + performance.now();

function send(reply: PublisherReply): void {
  process.send?.(reply);
}

interface Burst {
  nc: NatsConnection;
  messages: { subject: string; payload: string }[];
  reports: number;
  lastRoundAt: number;
}

/**
 * `rounds` reports per deployment, round by round (every deployment once per round), the last
 * round `Ready` and the ones before alternately `Modified` / `Ready`, so that every report
 * changes the row it is about. Round r is observed at `start + r` ms. A cluster's reports of one
 * round go in one message, as an agent sends the reports that queue up together. Serialized up
 * front, so that the publisher is not what is measured.
 */
async function prepare(req: Extract<PublisherRequest, { op: 'prepare' }>): Promise<Burst> {
  const subjects = createSubjects(req.prefix);
  const start = Date.now();
  const messages: Burst['messages'] = [];
  let reports = 0;
  for (let round = 0; round < req.rounds; round++) {
    const modified = (req.rounds - 1 - round) % 2 === 1;
    const observedAt = new Date(start + round).toISOString();
    const byCluster = new Map<string, StatusReport[]>();
    for (const d of req.deployments) {
      const report: StatusReport = StatusReportSchema.parse({
        cluster: d.cluster,
        bundle: d.bundle,
        revision: d.revision,
        state: modified ? 'Modified' : 'Ready',
        message: modified
          ? `${d.resources[0]?.kind ?? 'a resource'} was changed in the cluster`
          : '',
        resources: modified
          ? d.resources.map((r, i) => (i === 0 ? { ...r, state: 'Modified' } : r))
          : d.resources,
        observedAt,
      });
      const batch = byCluster.get(d.cluster) ?? [];
      batch.push(report);
      byCluster.set(d.cluster, batch);
      reports++;
    }
    for (const [cluster, batch] of byCluster) {
      for (let i = 0; i < batch.length; i += MAX_REPORTS_PER_MESSAGE) {
        const message: StatusBatch = {
          cluster,
          reports: batch.slice(i, i + MAX_REPORTS_PER_MESSAGE),
        };
        messages.push({ subject: subjects.status(cluster), payload: JSON.stringify(message) });
      }
    }
  }
  const nc = await connect({ servers: req.natsUrl.split(','), name: 'flotilla-bench-ingest' });
  return { nc, messages, reports, lastRoundAt: start + req.rounds - 1 };
}

/**
 * Publishes the burst as JetStream publishes: each message with a `Nats-Msg-Id` header and a
 * reply subject the stream acks to (what `JetStreamClient.publish` sends), WINDOW unacked at a
 * time. The acks come to one wildcard subscription instead of one request (and timer) each, so
 * that a single publisher keeps up with the hub.
 */
async function publish(burst: Burst): Promise<PublisherReply> {
  const { nc, messages } = burst;
  const inbox = createInbox();
  let acked = 0;
  let failure: string | undefined;
  let lastAckAt = 0;
  let wake: () => void = () => undefined;
  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      const text = err === null ? msg.string() : '';
      // A PubAck is `{"stream":…,"seq":…}`; anything else (an error, no responders) fails.
      if (err !== null || !text.includes('"seq"')) failure ??= err?.message ?? (text || 'no ack');
      acked++;
      lastAckAt = now();
      wake();
    },
  });
  const waitFor = async (ok: () => boolean): Promise<void> => {
    while (!ok() && failure === undefined) await new Promise<void>((r) => (wake = r));
    if (failure !== undefined) throw new Error(`publishing the burst: ${failure}`);
  };
  try {
    await nc.flush();
    const firstAt = now();
    for (let i = 0; i < messages.length; i++) {
      const h = headers();
      h.set('Nats-Msg-Id', randomUUID());
      nc.publish(messages[i]!.subject, messages[i]!.payload, {
        reply: `${inbox}.${i}`,
        headers: h,
      });
      if (i + 1 - acked >= WINDOW) await waitFor(() => i + 1 - acked < WINDOW);
    }
    await waitFor(() => acked === messages.length);
    return { op: 'published', firstAt, lastAckAt };
  } finally {
    sub.unsubscribe();
  }
}

let burst: Promise<Burst> | undefined;

process.on('message', (req: PublisherRequest) => {
  const fail = (err: unknown) => send({ op: 'error', error: String(err) });
  if (req.op === 'prepare') {
    burst = prepare(req);
    burst.then(
      (b) => send({ op: 'prepared', reports: b.reports, lastRoundAt: b.lastRoundAt }),
      fail,
    );
    return;
  }
  if (burst === undefined) return fail('publish before prepare');
  burst
    .then(publish)
    .then(send, fail)
    .finally(() => void burst?.then((b) => b.nc.close()));
});
process.on('disconnect', () => process.exit(0));
