import type { NatsConnection } from '@nats-io/transport-node';

/** Publishes a value as JSON. */
export function publishJson(nc: NatsConnection, subject: string, value: unknown): void {
  nc.publish(subject, JSON.stringify(value));
}

/** One decoder for every payload (a decoder per message costs an allocation each). */
const decoder = new TextDecoder();

/** Parses a JSON payload; undefined (never a throw) for garbage, so one bad message is skipped. */
export function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data)) as unknown;
  } catch {
    return undefined;
  }
}
