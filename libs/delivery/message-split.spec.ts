import { describe, expect, it } from 'vitest';
import { DesiredBatchSchema } from '../contracts/index.js';
import {
  MessageTails,
  desiredMessageBytes,
  desiredMessageText,
  memoizedParts,
  splitMessages,
} from './message-split.js';

const remove = (bundle: string) => ({ kind: 'Remove', bundle });
/** A change whose JSON text (plus its separator) takes exactly `bytes` bytes. */
const sized = (bytes: number) => {
  const empty = JSON.stringify({ kind: 'Remove', bundle: '' }).length + 1;
  return remove('x'.repeat(bytes - empty));
};

describe('splitMessages', () => {
  it.each([
    ['no changes make no message', [], 100, []],
    ['one change is one message', [remove('a')], 100, [[remove('a')]]],
    [
      'changes that fit together share one message, in order',
      [remove('a'), remove('b'), remove('c')],
      1000,
      [[remove('a'), remove('b'), remove('c')]],
    ],
    [
      'a change that would pass the limit starts the next message',
      [sized(40), sized(40), sized(40)],
      100,
      [[sized(40), sized(40)], [sized(40)]],
    ],
    [
      'changes filling the limit exactly stay together',
      [sized(50), sized(50)],
      100,
      [[sized(50), sized(50)]],
    ],
    [
      'a change larger than the limit travels alone, whole',
      [sized(30), sized(500), sized(30)],
      100,
      [[sized(30)], [sized(500)], [sized(30)]],
    ],
    [
      'multi-byte characters count as their UTF-8 bytes',
      [remove('é'.repeat(30)), remove('é'.repeat(30))],
      100,
      [[remove('é'.repeat(30))], [remove('é'.repeat(30))]],
    ],
  ])('%s', (_name, changes, maxBytes, expected) => {
    const split = splitMessages(changes, maxBytes);
    expect(split.map((parts) => parts.map((p) => JSON.parse(p) as unknown))).toEqual(expected);
  });
});

describe('desiredMessageText', () => {
  it.each([
    ['one change', [remove('a')]],
    ['several changes, in order', [remove('a'), remove('b')]],
  ])('%s: a desired-state message the agent accepts, carrying the changes', (_name, changes) => {
    const envelope = { cluster: 'c1', seq: 7, issuedAt: '2026-01-01T00:00:00.000Z' };
    const [parts] = splitMessages(changes);
    const message = DesiredBatchSchema.parse(JSON.parse(desiredMessageText(envelope, parts!)));
    expect(message).toEqual({ ...envelope, changes });
  });
});

describe('memoizedParts', () => {
  it('serializes each change object once, and splits as without it', () => {
    const shared = remove('a');
    const changes = [shared, remove('b'), shared, shared];
    const partOf = memoizedParts();
    const split = splitMessages(changes, 40, partOf);
    expect(split).toEqual(splitMessages(changes, 40));
    expect(partOf(shared)).toBe(partOf(shared));
    expect(partOf(remove('a'))).not.toBe(partOf(shared));
  });
});

describe('desiredMessageBytes', () => {
  const envelope = (cluster: string, seq: number) => ({
    cluster,
    seq,
    issuedAt: '2026-01-01T00:00:00.000Z',
  });
  it.each([
    ['one change', envelope('c1', 1), [remove('a')]],
    ['several changes', envelope('c2', 123_456_789), [remove('a'), remove('b')]],
    ['multi-byte characters', envelope('é-cluster', 2), [remove('ü'.repeat(5)), remove('日本')]],
    ['a name that needs escaping', envelope('c"\\n', 3), [remove('"quoted"\n')]],
  ])('%s: exactly the bytes of desiredMessageText', (_name, env, changes) => {
    const [parts] = splitMessages(changes);
    const bytes = desiredMessageBytes(env, new MessageTails().of(parts!));
    expect(Buffer.from(bytes).toString('utf8')).toBe(desiredMessageText(env, parts!));
    expect(bytes.length).toBe(Buffer.byteLength(desiredMessageText(env, parts!)));
  });

  it('clusters with the same parts share one tail, others get their own', () => {
    const tails = new MessageTails();
    const partOf = memoizedParts();
    const [a, b] = [remove('a'), remove('b')];
    const [one] = splitMessages([a, b], undefined, partOf);
    const [two] = splitMessages([a, b], undefined, partOf);
    const [prefix] = splitMessages([a], undefined, partOf);
    const [other] = splitMessages([b, a], undefined, partOf);
    expect(tails.of(one!)).toBe(tails.of(two!));
    expect(tails.of(prefix!)).not.toBe(tails.of(one!));
    expect(tails.of(other!)).not.toBe(tails.of(one!));
    expect(tails.of(prefix!).toString()).toBe(',"changes":[{"kind":"Remove","bundle":"a"}]}');
  });
});
