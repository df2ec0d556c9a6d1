/** A desired-state message stays below this many bytes (NATS's default max payload is 1 MiB). */
export const MAX_DESIRED_MESSAGE_BYTES = 512 * 1024;

/** One change of a desired-state message as it travels: its JSON text and that text's UTF-8 size. */
export interface MessagePart {
  text: string;
  bytes: number;
}

/** A change's JSON text and size. */
export function messagePart(change: unknown): MessagePart {
  const text = JSON.stringify(change);
  return { text, bytes: Buffer.byteLength(text) };
}

/**
 * {@link messagePart}, remembering the part of each change object: a change sent to many
 * clusters (the same object queued for each) is serialized once.
 */
export function memoizedParts(): (change: unknown) => MessagePart {
  const parts = new Map<unknown, MessagePart>();
  return (change) => {
    let part = parts.get(change);
    if (part === undefined) {
      part = messagePart(change);
      parts.set(change, part);
    }
    return part;
  };
}

/**
 * Splits a cluster's queued changes, in order, into the messages that carry them: each change as
 * its JSON text, a message closed before the change that would take it past `maxBytes` (counting
 * one separator byte per change). A change larger than `maxBytes` travels alone; no change is
 * ever dropped or cut. `partOf` serializes a change ({@link memoizedParts} to do it once).
 */
export function splitMessages(
  changes: readonly unknown[],
  maxBytes: number = MAX_DESIRED_MESSAGE_BYTES,
  partOf: (change: unknown) => MessagePart = messagePart,
): string[][] {
  const split: string[][] = [];
  let parts: string[] = [];
  let bytes = 0;
  for (const change of changes) {
    const part = partOf(change);
    const partBytes = part.bytes + 1;
    if (parts.length > 0 && bytes + partBytes > maxBytes) {
      split.push(parts);
      parts = [];
      bytes = 0;
    }
    parts.push(part.text);
    bytes += partBytes;
  }
  if (parts.length > 0) split.push(parts);
  return split;
}

/** The envelope's fields of a desired-state message, as its text begins (without the closing brace). */
function messageHead(envelope: { cluster: string; seq: number; issuedAt: string }): string {
  const head = JSON.stringify({
    cluster: envelope.cluster,
    seq: envelope.seq,
    issuedAt: envelope.issuedAt,
  });
  return head.slice(0, -1);
}

/** What follows the envelope in a desired-state message: `changes` holding the parts as they are. */
function messageTail(parts: readonly string[]): string {
  return `,"changes":[${parts.join(',')}]}`;
}

/**
 * The text of one desired-state message: the envelope's fields, then `changes` holding the
 * parts (JSON texts from {@link splitMessages}) as they are, so they are serialized once.
 */
export function desiredMessageText(
  envelope: { cluster: string; seq: number; issuedAt: string },
  parts: readonly string[],
): string {
  return messageHead(envelope) + messageTail(parts);
}

interface TailNode {
  next: Map<string, TailNode>;
  tail?: Buffer;
}

/**
 * The encoded tails (everything after the envelope) of desired-state messages, made once per
 * distinct list of parts: the clusters of a commit mostly get the same changes, so their messages
 * differ only in the envelope. Lists are told apart by their parts' texts (the same string
 * objects when they come from one {@link memoizedParts}, so a lookup hashes no long text twice).
 */
export class MessageTails {
  private readonly root: TailNode = { next: new Map() };

  /** The UTF-8 bytes of the tail of a message carrying `parts`. */
  of(parts: readonly string[]): Buffer {
    let node = this.root;
    for (const part of parts) {
      let next = node.next.get(part);
      if (next === undefined) {
        next = { next: new Map() };
        node.next.set(part, next);
      }
      node = next;
    }
    node.tail ??= Buffer.from(messageTail(parts), 'utf8');
    return node.tail;
  }
}

/**
 * The bytes of one desired-state message: exactly those of {@link desiredMessageText} for the
 * envelope and the parts whose tail is `tail` (from {@link MessageTails}).
 */
export function desiredMessageBytes(
  envelope: { cluster: string; seq: number; issuedAt: string },
  tail: Uint8Array,
): Buffer {
  const head = messageHead(envelope);
  const headBytes = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headBytes + tail.length);
  out.write(head, 0, 'utf8');
  out.set(tail, headBytes);
  return out;
}
