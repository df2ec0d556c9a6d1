import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCluster } from '../../agents/agent/simulated-cluster.js';
import type { Subjects } from '../../libs/contracts/index.js';
import { ensureNatsAuthDir } from '../../libs/nats-auth/index.js';
import { statusStreamName } from '../../libs/nats/index.js';
import { eventually } from '../../libs/testing/index.js';
import type { TestHub } from '../support/hub.js';
import { type JwtFleet, startJwtFleet } from '../support/jwt-fleet.js';

// An attacker holding cluster A's agent credentials, against the hub on the JWT-authenticated
// nats-server `npm start` runs: it may publish only on A's own hub-bound subjects, but it chooses
// the reply subject of its requests.

const root = mkdtempSync(join(tmpdir(), 'flotilla-agent-gateway-e2e-'));
let fleet: JwtFleet;
let hub: TestHub;
let subjects: Subjects;
let hubSide: NatsConnection;
const clusters = new Map<string, SimulatedCluster>();

/** A raw NATS connection with cluster `name`'s own agent credentials, as the agent makes it. */
async function loginAs(name: string): Promise<NatsConnection> {
  return fleet.loginAs(await fleet.bootstrap(fleet.tokens.get(name)!));
}

/** A counter of the hub's /metrics (summed over its label sets), 0 when absent. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await hub.api().get('/metrics').expect(200)).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function webOnB(): Promise<{
  state: string;
  desiredRevision: string;
  appliedRevision: string;
}> {
  const body = (await hub.api().get('/api/v1/clusters/b').expect(200)).body as {
    deployments: { state: string; desiredRevision: string; appliedRevision: string }[];
  };
  return body.deployments[0]!;
}

const errorOf = (msg: Msg): string | undefined =>
  msg.headers?.has('Flotilla-Error') ? msg.headers.get('Flotilla-Error') : undefined;

beforeAll(async () => {
  const auth = await ensureNatsAuthDir(join(root, 'nats-auth'), 'jwt');
  // Only B runs the bundle; A runs nothing.
  fleet = await startJwtFleet({
    root,
    authDir: join(root, 'nats-auth'),
    keys: auth.keys,
    serverConfigFile: auth.serverConfigFile,
    clusters: { a: { runs: 'nothing' }, b: { runs: 'web' } },
    target: 'runs=web',
  });
  ({ hub, subjects } = fleet);
  hubSide = await fleet.hubSide('test-observer');
  for (const name of ['a', 'b']) {
    const sim = new SimulatedCluster();
    clusters.set(name, sim);
    await fleet.startClusterAgent(name, sim);
  }
  await eventually(
    'web Ready on B',
    webOnB,
    (d) => d?.state === 'Ready' && d.appliedRevision === d.desiredRevision,
  );
});

afterAll(async () => {
  await fleet?.stop();
});

describe('the hub answers an agent only on its own inbox', () => {
  it("a sync request from A with B's desired subject as reply changes nothing on B; refused and counted", async () => {
    const web = await webOnB();
    const forged: Msg[] = [];
    hubSide.subscribe(subjects.desired('b'), { callback: (_e, m) => void forged.push(m) });
    await hubSide.flush();
    const refusedBefore = await metric('flotilla_agent_requests_refused_total', {
      reason: 'reply-subject',
    });

    const attacker = await loginAs('a');
    attacker.publish(
      subjects.sync('a'),
      JSON.stringify({ held: [{ bundle: 'fleet/web', revision: web.desiredRevision }] }),
      { reply: subjects.desired('b') },
    );
    await attacker.flush();

    // Either the hub refused it (counted) or it published on B's subject.
    await eventually(
      'the forged sync handled',
      async () => ({
        refused: await metric('flotilla_agent_requests_refused_total', { reason: 'reply-subject' }),
        forged: forged.length,
      }),
      (s) => s.refused > refusedBefore || s.forged > 0,
    );
    expect(forged.map((m) => m.string())).toEqual([]);
    expect((await clusters.get('b')!.heldBundles()).map((h) => h.bundle)).toEqual(['fleet/web']);
    expect(await webOnB()).toMatchObject({ state: 'Ready' });
  });

  it('a content request from A with a JetStream API subject as reply does not delete the status stream', async () => {
    const stream = statusStreamName(hub.config.subjectPrefix);
    const deletes: Msg[] = [];
    hubSide.subscribe(`$JS.API.STREAM.DELETE.${stream}`, {
      callback: (_e, m) => void deletes.push(m),
    });
    await hubSide.flush();
    const refusedBefore = await metric('flotilla_agent_requests_refused_total', {
      request: 'content',
      reason: 'reply-subject',
    });

    const attacker = await loginAs('a');
    attacker.publish(subjects.content('a'), 'garbage', {
      reply: `$JS.API.STREAM.DELETE.${stream}`,
    });
    await attacker.flush();

    await eventually(
      'the forged content request handled',
      async () => ({
        refused: await metric('flotilla_agent_requests_refused_total', {
          request: 'content',
          reason: 'reply-subject',
        }),
        deletes: deletes.length,
      }),
      (s) => s.refused > refusedBefore || s.deletes > 0,
    );
    expect(deletes.length).toBe(0);
    const jsm = await jetstreamManager(hubSide);
    expect((await jsm.streams.info(stream)).config.name).toBe(stream);
    expect((await hub.api().get('/readyz')).status).toBe(200);
  });

  it("A's own requests on its own inbox are answered", async () => {
    const a = await loginAs('a');
    const reply = await a.request(subjects.sync('a'), JSON.stringify({ held: [] }), {
      timeout: 10_000,
    });
    expect(errorOf(reply)).toBeUndefined();
    expect(reply.json<{ changes: unknown[] }>().changes).toEqual([]);
  });
});

describe('agent requests are bounded', () => {
  it('a sync request holding 25,000 bundles is refused with a clear error', async () => {
    const a = await loginAs('a');
    const held = Array.from({ length: 25_000 }, (_, i) => ({ bundle: `b${i}`, revision: 'x' }));
    const reply = await a.request(subjects.sync('a'), JSON.stringify({ held }), {
      timeout: 10_000,
    });
    expect(errorOf(reply)).toMatch(/holds 25000 bundles; at most \d+/);
  });

  it("a flood of requests from A is refused beyond A's rate while B's requests are answered", async () => {
    const a = await loginAs('a');
    const b = await loginAs('b');
    const flood = await Promise.all(
      Array.from({ length: 100 }, () =>
        a.request(subjects.sync('a'), JSON.stringify({ held: [] }), { timeout: 20_000 }),
      ),
    );
    const errors = flood.map(errorOf).filter((e) => e !== undefined);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/too many sync requests from cluster a/);
    expect(flood.length - errors.length).toBeGreaterThan(0);

    const reply = await b.request(subjects.sync('b'), JSON.stringify({ held: [] }), {
      timeout: 10_000,
    });
    expect(errorOf(reply)).toBeUndefined();
    expect(reply.json<{ changes: { bundle: string }[] }>().changes.map((c) => c.bundle)).toEqual([
      'fleet/web',
    ]);
    expect(
      await metric('flotilla_agent_requests_refused_total', { request: 'sync', reason: 'rate' }),
    ).toBeGreaterThan(0);
  });
});
