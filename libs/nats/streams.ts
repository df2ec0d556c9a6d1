import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
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

/** JetStream's definite answer that a stream does not exist (API error 10059). */
export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/** JetStream's definite answer that a consumer does not exist (API error 10014). */
export function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}

/** What {@link ensureStatusStream} had to create. */
export interface StatusStreamCreated {
  stream: boolean;
  consumer: boolean;
}

/**
 * Makes sure the status stream and its consumer exist (idempotent; replicas may race). A
 * work queue: a report is deleted once the status service acked it, so nothing piles up and a
 * hub that was down picks up every report sent meanwhile. `replicas` (FLOTILLA_NATS_REPLICAS) is
 * how many servers of a NATS cluster keep the stream and its consumer: 3 on a three-node cluster
 * survives losing one node. A stream made with another count is scaled to it (JetStream moves
 * the data); the consumer follows its stream.
 *
 * Only JetStream's definite "not found" (10059 for the stream, 10014 for the consumer) leads to
 * creating one; any other failure (a request timeout under load, no JetStream) is thrown, so the
 * caller retries later instead of taking an unanswered request for a missing stream.
 */
export async function ensureStatusStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
  replicas = 1,
): Promise<StatusStreamCreated> {
  const created: StatusStreamCreated = { stream: false, consumer: false };
  const config = {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: 24 * 3600 * 1_000_000_000,
    max_msg_size: 4 * 1024 * 1024,
    num_replicas: replicas,
  };
  const existing = await jsm.streams.info(name).catch((err: unknown) => {
    if (isStreamNotFound(err)) return undefined;
    throw err;
  });
  if (existing === undefined) {
    try {
      await jsm.streams.add(config);
      created.stream = true;
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
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
    try {
      await jsm.consumers.add(name, {
        durable_name: STATUS_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 30 * 1_000_000_000,
        max_ack_pending: 20_000,
        num_replicas: replicas,
      });
      created.consumer = true;
    } catch (addErr) {
      // Another replica created it first.
      await jsm.consumers.info(name, STATUS_CONSUMER).catch(() => {
        throw addErr;
      });
    }
  }
  return created;
}
