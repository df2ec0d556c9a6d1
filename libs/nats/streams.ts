import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';

/** Name of the stream that captures agents' status reports (one per subject prefix). */
export function statusStreamName(prefix: string): string {
  const suffix = prefix.replace(/[^A-Za-z0-9]/g, '_');
  return suffix === '' ? 'FLOTILLA_STATUS' : `FLOTILLA_STATUS_${suffix}`;
}

/** Durable consumer the status service replicas share. */
export const STATUS_CONSUMER = 'status-ingest';

/**
 * Makes sure the status stream and its consumer exist (idempotent; replicas may race). A
 * work queue: a report is deleted once the status service acked it, so nothing piles up and a
 * hub that was down picks up every report sent meanwhile. `replicas` (FLOTILLA_NATS_REPLICAS) is
 * how many servers of a NATS cluster keep the stream and its consumer: 3 on a three-node cluster
 * survives losing one node. A stream made with another count is scaled to it (JetStream moves
 * the data); the consumer follows its stream.
 */
export async function ensureStatusStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
  replicas = 1,
): Promise<void> {
  const config = {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: 24 * 3600 * 1_000_000_000,
    max_msg_size: 4 * 1024 * 1024,
    num_replicas: replicas,
  };
  const existing = await jsm.streams.info(name).catch(() => undefined);
  if (existing === undefined) {
    try {
      await jsm.streams.add(config);
    } catch (err) {
      // Another replica created it first.
      await jsm.streams.info(name).catch(() => {
        throw new Error(
          `cannot create JetStream stream ${name} with ${replicas} replica(s) (FLOTILLA_NATS_REPLICAS; a NATS cluster of at least as many servers): ${String(err)}`,
        );
      });
    }
  } else if (existing.config.num_replicas !== replicas) {
    await jsm.streams
      .update(name, { ...existing.config, num_replicas: replicas })
      .catch((err: unknown) => {
        throw new Error(
          `cannot scale JetStream stream ${name} from ${existing.config.num_replicas} to ${replicas} replica(s): ${String(err)}`,
        );
      });
  }
  try {
    await jsm.consumers.info(name, STATUS_CONSUMER);
  } catch {
    await jsm.consumers
      .add(name, {
        durable_name: STATUS_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 30 * 1_000_000_000,
        max_ack_pending: 20_000,
        num_replicas: replicas,
      })
      .catch(async (err: unknown) => {
        await jsm.consumers.info(name, STATUS_CONSUMER).catch(() => {
          throw err;
        });
      });
  }
}
