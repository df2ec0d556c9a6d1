/** A desired-state message stays below this many bytes (NATS's default max payload is 1 MiB). */
export const MAX_DESIRED_MESSAGE_BYTES = 512 * 1024;

/**
 * Splits a cluster's queued changes, in order, into the messages that carry them: each change as
 * its JSON text, a message closed before the change that would take it past `maxBytes` (counting
 * one separator byte per change). A change larger than `maxBytes` travels alone; no change is
 * ever dropped or cut.
 */
export function splitMessages(
  changes: readonly unknown[],
  maxBytes: number = MAX_DESIRED_MESSAGE_BYTES,
): string[][] {
  const split: string[][] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (const change of changes) {
    const part = JSON.stringify(change);
    const partBytes = Buffer.byteLength(part) + 1;
    if (parts.length > 0 && bytes + partBytes > maxBytes) {
      split.push(parts);
      parts = [];
      bytes = 0;
    }
    parts.push(part);
    bytes += partBytes;
  }
  if (parts.length > 0) split.push(parts);
  return split;
}

/**
 * The text of one desired-state message: the envelope's fields, then `changes` holding the
 * parts (JSON texts from {@link splitMessages}) as they are, so they are serialized once.
 */
export function desiredMessageText(
  envelope: { cluster: string; seq: number; issuedAt: string },
  parts: readonly string[],
): string {
  const head = JSON.stringify({
    cluster: envelope.cluster,
    seq: envelope.seq,
    issuedAt: envelope.issuedAt,
  });
  return `${head.slice(0, -1)},"changes":[${parts.join(',')}]}`;
}
