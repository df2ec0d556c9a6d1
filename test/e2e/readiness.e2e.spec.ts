import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubjects, type Subjects } from '../../libs/contracts/index.js';
import { statusStreamName } from '../../libs/nats/index.js';
import { findFreePort, findNatsServerBinary } from '../../libs/runtime/index.js';
import { eventually } from '../../libs/testing/index.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// The hub on a nats-server of its own, which the test deletes streams on, kills and starts again
// on the same port.

const root = mkdtempSync(join(tmpdir(), 'flotilla-readiness-e2e-'));
let port: number;
let server: ChildProcess | undefined;
let hub: TestHub;
let nc: NatsConnection;
let subjects: Subjects;
let stream: string;

async function startServer(): Promise<void> {
  const proc = spawn(
    findNatsServerBinary({}),
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(root, 'store')],
    { stdio: 'ignore' },
  );
  server = proc;
  await eventually(
    'nats-server accepting connections',
    async () => {
      const probe = await connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false });
      await probe.close();
      return true;
    },
    (ok) => ok,
  );
}

async function stopServer(): Promise<void> {
  const proc = server;
  server = undefined;
  if (proc === undefined || proc.exitCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGKILL');
  await exited;
}

async function readyz(): Promise<{ status: number; text: string }> {
  const res = await hub.api().get('/readyz');
  return { status: res.status, text: res.text };
}

async function metric(name: string): Promise<number> {
  const text = (await hub.api().get('/metrics').expect(200)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

beforeAll(async () => {
  port = await findFreePort();
  await startServer();
  hub = await startTestHub({ env: { NATS_URL: `nats://127.0.0.1:${port}` } });
  subjects = createSubjects(hub.config.subjectPrefix);
  stream = statusStreamName(hub.config.subjectPrefix);
  nc = await connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: -1 });
});

afterAll(async () => {
  if (server === undefined) await startServer().catch(() => undefined);
  await nc?.close().catch(() => undefined);
  await hub?.stop();
  await stopServer();
  rmSync(root, { recursive: true, force: true });
});

describe('readiness and the streams the hub relies on', () => {
  it('is ready with NATS connected and the status stream there', async () => {
    const res = await readyz();
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({
      checks: { postgres: 'ok', nats: 'ok', statusStream: 'ok' },
    });
  });

  it('a deleted status stream makes the hub not ready until it re-creates it; reports are consumed again', async () => {
    const jsm = await jetstreamManager(nc);
    // A stream over the same subjects keeps the hub from re-creating its own for now (retried
    // should the hub win the race between the two calls).
    for (let attempt = 0; ; attempt++) {
      await jsm.streams.delete(stream).catch(() => undefined);
      try {
        await jsm.streams.add({ name: 'BLOCKER', subjects: [subjects.allStatus()] });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
    const notReady = await eventually('readyz not ready', readyz, (r) => r.status === 503);
    expect(notReady.text).toMatch(/statusStream.*failing/);

    await jsm.streams.delete('BLOCKER');
    await eventually('the hub re-created its stream and is ready', readyz, (r) => r.status === 200);
    expect((await jsm.streams.info(stream)).config.subjects).toEqual([subjects.allStatus()]);
    expect(await metric('flotilla_status_stream_recreated_total')).toBeGreaterThanOrEqual(1);

    // The hub consumes the new stream: a malformed report is taken off it and counted.
    const rejected = await metric('flotilla_status_reports_rejected_total');
    await jetstream(nc).publish(subjects.status('nobody'), '{"not":"a report"}');
    await eventually(
      'the report consumed',
      () => metric('flotilla_status_reports_rejected_total'),
      (n) => n > rejected,
    );
  });

  it('is not ready while NATS is down, and ready again once it is back', async () => {
    await stopServer();
    const down = await eventually('readyz not ready', readyz, (r) => r.status === 503);
    expect(down.text).toMatch(/nats.*failing/);
    await startServer();
    await eventually('readyz ready again', readyz, (r) => r.status === 200);
  });
});
