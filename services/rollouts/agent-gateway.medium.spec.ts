import { Logger } from '@nestjs/common';
import { type Msg, type NatsConnection, connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSubjects } from '../../libs/contracts/index.js';
import { eventually, testNatsUrl, testSubjectPrefix } from '../../libs/testing/index.js';
import { AGENT_ERROR_HEADER, AgentGateway, type AgentRequest } from './agent-gateway.js';

// The gateway on the tests' NATS (no authentication: any client may name any reply subject).

const subjects = createSubjects(testSubjectPrefix());
let hubNc: NatsConnection;
let agentNc: NatsConnection;
let observer: NatsConnection;
let gateway: AgentGateway;
let registry: Registry;
const handled: AgentRequest[] = [];
/** Requests wait here until released, to hold a cluster's slots. */
let hold: Promise<void> = Promise.resolve();

async function refused(reason: string): Promise<number> {
  const metric = await registry.getSingleMetricAsString('flotilla_agent_requests_refused_total');
  return metric
    .split('\n')
    .filter((l) => l.includes(`reason="${reason}"`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const errorOf = (msg: Msg): string | undefined =>
  msg.headers?.has(AGENT_ERROR_HEADER) ? msg.headers.get(AGENT_ERROR_HEADER) : undefined;

beforeAll(async () => {
  hubNc = await connect({ servers: testNatsUrl() });
  agentNc = await connect({ servers: testNatsUrl(), inboxPrefix: subjects.agentInboxPrefix('a') });
  observer = await connect({ servers: testNatsUrl() });
  registry = new Registry();
  gateway = new AgentGateway(hubNc, subjects, registry);
  gateway.serve(
    'sync',
    async (req) => {
      handled.push(req);
      await hold;
      return { data: new TextEncoder().encode(`answer for ${req.cluster}`) };
    },
    { maxBytes: 100, rate: { burst: 5, perSecond: 0.001 }, concurrency: 1, queue: 1 },
  );
  await hubNc.flush();
});

afterAll(async () => {
  gateway?.onModuleDestroy();
  await Promise.all([hubNc, agentNc, observer].map((nc) => nc?.close()));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AgentGateway', () => {
  it("answers a cluster's request on its own inbox with what the handler returns", async () => {
    const reply = await agentNc.request(subjects.sync('a'), '{}', { timeout: 60_000 });
    expect(reply.string()).toBe('answer for a');
    expect(handled.map((h) => h.cluster)).toEqual(['a']);
  });

  it('never publishes on a reply subject outside the cluster inbox: dropped, counted, logged once per cluster', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const seen: string[] = [];
    const spy = observer.subscribe(`${subjects.desired('b')}`, {
      callback: (_e, m) => void seen.push(m.subject),
    });
    const spyJs = observer.subscribe('$JS.API.>', {
      callback: (_e, m) => void seen.push(m.subject),
    });
    await observer.flush();
    const before = await refused('reply-subject');
    const replies = [
      subjects.desired('b'),
      '$JS.API.STREAM.DELETE.FLOTILLA_STATUS',
      `${subjects.agentInboxPrefix('b')}.x`,
      `${subjects.agentInboxPrefix('a')}.>`,
    ];
    for (const reply of replies) hubNc.publish(subjects.sync('a'), '{}', { reply });
    await hubNc.flush();
    await eventually(
      'all four refused',
      () => refused('reply-subject'),
      (n) => n === before + 4,
    );
    await observer.flush();
    expect(seen).toEqual([]);
    expect(handled).toHaveLength(1);
    // One line for cluster a in this minute, naming the first refused subject.
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain(
      `refused a sync request from cluster a: reply subject "${subjects.desired('b')}"`,
    );
    spy.unsubscribe();
    spyJs.unsubscribe();
  });

  it('refuses a request over the size limit before the handler sees it', async () => {
    const reply = await agentNc.request(subjects.sync('a'), 'x'.repeat(101), { timeout: 60_000 });
    expect(errorOf(reply)).toBe('the sync request has 101 bytes; at most 100 are accepted');
    expect(handled).toHaveLength(1);
  });

  it("refuses a cluster's requests beyond its slots and its rate with an error; another cluster is served", async () => {
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    // Burst 5: two were used above (an oversized request costs one too). One runs, one waits,
    // then the slots are full (busy), then the burst is spent (rate).
    const first = agentNc.request(subjects.sync('a'), '{}', { timeout: 60_000 });
    const second = agentNc.request(subjects.sync('a'), '{}', { timeout: 60_000 });
    await eventually(
      'the first one running',
      () => handled.length,
      (n) => n === 2,
    );
    const third = await agentNc.request(subjects.sync('a'), '{}', { timeout: 60_000 });
    expect(errorOf(third)).toMatch(/^too many sync requests from cluster a in progress/);
    const fourth = await agentNc.request(subjects.sync('a'), '{}', { timeout: 60_000 });
    expect(errorOf(fourth)).toBe(
      'too many sync requests from cluster a (at most 5 at once, then 0.001 per second); retry later',
    );
    const b = await connect({
      servers: testNatsUrl(),
      inboxPrefix: subjects.agentInboxPrefix('b'),
    });
    try {
      const other = b.request(subjects.sync('b'), '{}', { timeout: 60_000 });
      await eventually(
        "b's request running beside a's",
        () => handled.map((h) => h.cluster),
        (c) => c.includes('b'),
      );
      release();
      expect((await other).string()).toBe('answer for b');
    } finally {
      await b.close();
    }
    expect((await first).string()).toBe('answer for a');
    expect((await second).string()).toBe('answer for a');
    expect(await refused('busy')).toBe(1);
    expect(await refused('rate')).toBe(1);
  });
});
