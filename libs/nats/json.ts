import type { NatsConnection } from '@nats-io/transport-node';

/** Publishes a value as JSON. */
export function publishJson(nc: NatsConnection, subject: string, value: unknown): void {
  nc.publish(subject, JSON.stringify(value));
}

/** Parses a JSON payload; undefined (never a throw) for garbage, so one bad message is skipped. */
export function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data)) as unknown;
  } catch {
    return undefined;
  }
}
