import type { JetStreamClient } from '@nats-io/jetstream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StatusBatchSchema, type StatusBatch } from '../../libs/contracts/index.js';
import { StatusReporter, type StatusUpdate } from './status-reporter.js';

interface Sent {
  subject: string;
  id: string;
  batch: StatusBatch;
  /** Settles this publish: acked, or failed with `error`. */
  settle(error?: Error): void;
}

/** A JetStream client whose publishes wait until the test settles them. */
function fakeJetStream() {
  const sent: Sent[] = [];
  let waiting: (() => void) | undefined;
  const js = {
    publish(subject: string, data: string, opts: { msgID: string }) {
      return new Promise((resolve, reject) => {
        sent.push({
          subject,
          id: opts.msgID,
          batch: StatusBatchSchema.parse(JSON.parse(data)),
          settle: (error) => (error ? reject(error) : resolve({ stream: 'S', seq: sent.length })),
        });
        waiting?.();
      });
    },
  } as unknown as JetStreamClient;
  /** Waits until `n` publishes were made. */
  const published = async (n: number): Promise<Sent[]> => {
    while (sent.length < n) await new Promise<void>((r) => (waiting = r));
    return sent;
  };
  return { js, sent, published };
}

function reporterWith(js: JetStreamClient, maxReportsPerMessage?: number) {
  return new StatusReporter({
    cluster: 'eu-1',
    subject: 'flotilla.hub.eu-1.status',
    jetstream: () => js,
    log: pino({ level: 'silent' }),
    maxReportsPerMessage,
  });
}

const update = (bundle: string, state: StatusUpdate['state'], message = ''): StatusUpdate => ({
  bundle,
  revision: 'r1',
  state,
  message,
  resources: [],
});

const summary = (s: Sent) => s.batch.reports.map((r) => `${r.bundle}=${r.state}`);
const tick = () => new Promise((r) => setImmediate(r));

describe('StatusReporter: reports of several bundles in one message', () => {
  it('reports queued in one turn travel in one message, stamped with the cluster', async () => {
    const { js, published } = fakeJetStream();
    const reporter = reporterWith(js);
    for (const b of ['a', 'b', 'c']) reporter.report(update(b, 'WaitApplied'));
    const [first] = await published(1);
    expect(first!.subject).toBe('flotilla.hub.eu-1.status');
    expect(first!.batch.cluster).toBe('eu-1');
    expect(summary(first!)).toEqual(['a=WaitApplied', 'b=WaitApplied', 'c=WaitApplied']);
    expect(first!.batch.reports.every((r) => r.cluster === 'eu-1')).toBe(true);
    first!.settle();
    await reporter.stop();
  });

  it('while one message is in flight the next reports wait, only the newest per bundle, in one message', async () => {
    const { js, sent, published } = fakeJetStream();
    const reporter = reporterWith(js);
    reporter.report(update('a', 'WaitApplied'));
    await published(1);
    reporter.report(update('b', 'WaitApplied'));
    reporter.report(update('a', 'NotReady', '0/1 replicas available'));
    reporter.report(update('b', 'Ready'));
    await tick();
    expect(sent).toHaveLength(1); // one message in flight at a time: a bundle's reports stay in order
    sent[0]!.settle();
    const [, second] = await published(2);
    expect(summary(second!)).toEqual(['a=NotReady', 'b=Ready']);
    expect(second!.id).not.toBe(sent[0]!.id);
    second!.settle();
    await reporter.stop();
  });

  it.each([
    ['the same state, message and revision again', update('a', 'Ready'), 1],
    ['another message', update('a', 'Ready', 'now with words'), 2],
    ['another state', update('a', 'NotReady'), 2],
    ['another revision', { ...update('a', 'Ready'), revision: 'r2' }, 2],
  ])('after a sent report, %s makes %i message(s)', async (_name, next, messages) => {
    const { js, sent, published } = fakeJetStream();
    const reporter = reporterWith(js);
    reporter.report(update('a', 'Ready'));
    (await published(1))[0]!.settle();
    await tick();
    reporter.report(next);
    await tick();
    await tick();
    expect(sent).toHaveLength(messages);
    sent.at(-1)!.settle();
    await reporter.stop();
  });

  it('a forced report goes even when it repeats the last one (the hub may have missed it)', async () => {
    const { js, published } = fakeJetStream();
    const reporter = reporterWith(js);
    reporter.report(update('a', 'Ready'));
    (await published(1))[0]!.settle();
    await tick();
    reporter.report(update('a', 'Ready'), { force: true });
    const [, again] = await published(2);
    expect(summary(again!)).toEqual(['a=Ready']);
    again!.settle();
    await reporter.stop();
  });

  it('a failed publish is retried with the same Nats-Msg-Id, so the stream drops a duplicate', async () => {
    const { js, published } = fakeJetStream();
    const reporter = reporterWith(js);
    reporter.report(update('a', 'Ready'));
    reporter.report(update('b', 'Ready'));
    (await published(1))[0]!.settle(new Error('timeout'));
    const [first, retry] = await published(2);
    expect(retry!.id).toBe(first!.id);
    expect(summary(retry!)).toEqual(summary(first!));
    retry!.settle();
    await reporter.stop();
  });

  it('a retry drops the reports a newer one replaces, under a new Nats-Msg-Id; an old state reported again is sent', async () => {
    const { js, published } = fakeJetStream();
    const reporter = reporterWith(js);
    reporter.report(update('a', 'NotReady'));
    reporter.report(update('b', 'NotReady'));
    const [first] = await published(1);
    reporter.report(update('a', 'Ready')); // waits behind the message in flight
    first!.settle(new Error('timeout'));
    const [, retry] = await published(2);
    expect(summary(retry!)).toEqual(['b=NotReady']);
    expect(retry!.id).not.toBe(first!.id);
    reporter.report(update('a', 'NotReady')); // a's NotReady was never delivered: not a repeat
    retry!.settle();
    const [, , third] = await published(3);
    expect(summary(third!)).toEqual(['a=NotReady']);
    third!.settle();
    await reporter.stop();
  });

  it('more reports than one message holds go in several messages, oldest first', async () => {
    const { js, published } = fakeJetStream();
    const reporter = reporterWith(js, 2);
    for (const b of ['a', 'b', 'c']) reporter.report(update(b, 'Ready'));
    const [first] = await published(1);
    expect(summary(first!)).toEqual(['a=Ready', 'b=Ready']);
    first!.settle();
    const [, second] = await published(2);
    expect(summary(second!)).toEqual(['c=Ready']);
    second!.settle();
    await reporter.stop();
  });

  it('stop drops what was not sent', async () => {
    const { js, sent, published } = fakeJetStream();
    const reporter = reporterWith(js);
    reporter.report(update('a', 'Ready'));
    const [first] = await published(1);
    reporter.report(update('b', 'Ready'));
    const stopped = reporter.stop();
    first!.settle();
    await stopped;
    await tick();
    expect(sent).toHaveLength(1);
  });
});
