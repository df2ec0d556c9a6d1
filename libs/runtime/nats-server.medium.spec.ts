import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findNatsServerBinary,
  NatsServerNotFoundError,
  startNatsServer,
  type NatsServerHandle,
} from './nats-server.js';

function portRefuses(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * The port after a restart is the one before — unless another program (on this busy machine,
 * any test's ephemeral port) took it meanwhile, which the log must then say. Returns the port.
 */
function expectKept(before: string, after: string, logs: string[], what: string): string {
  if (after !== before) {
    expect(logs.join('\n')).toMatch(
      new RegExp(
        `port ${before} of the last start \\(kept in .*\\) is taken by another process; ${what} listens on port ${after} instead`,
      ),
    );
  }
  return after;
}

describe('startNatsServer', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-nats-'));
  const handles: NatsServerHandle[] = [];
  const connections: NatsConnection[] = [];
  const logs: string[] = [];
  const start = async (): Promise<NatsServerHandle> => {
    const handle = await startNatsServer({ dataDir, log: (line) => logs.push(line) });
    handles.push(handle);
    return handle;
  };
  const client = async (url: string): Promise<NatsConnection> => {
    const nc = await connect({ servers: url, reconnect: false });
    connections.push(nc);
    return nc;
  };

  afterAll(async () => {
    for (const nc of connections) if (!nc.isClosed()) await nc.close();
    for (const handle of handles) await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs JetStream on a free port, and a stream survives a restart', async () => {
    const first = await start();
    expect(first.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(first.url).not.toBe('nats://127.0.0.1:4222');

    const nc = await client(first.url);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    expect(info.limits).toBeDefined();

    const sub = nc.subscribe('runtime.test', { max: 1 });
    const received = (async () => {
      for await (const msg of sub) return msg.string();
      return undefined;
    })();
    nc.publish('runtime.test', 'hello');
    expect(await received).toBe('hello');

    await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'] });
    const js = jsm.jetstream();
    await js.publish('kept.one', 'payload');
    await nc.close();

    await first.stop();
    expect(await portRefuses(first.url)).toBe(true);

    const second = await start();
    const jsm2 = await jetstreamManager(await client(second.url));
    const stream = await jsm2.streams.info('KEPT');
    expect(stream.state.messages).toBe(1);
    await second.stop();
    await second.stop(); // idempotent
  });

  it('keeps its port across a restart, also after kill -9, and takes another (said in the log) only when it is taken', async () => {
    const first = await start();
    const port = new URL(first.url).port;
    expect(readFileSync(join(dataDir, 'nats-server.port'), 'utf8').trim()).toBe(port);
    await first.stop();

    const second = await start();
    let kept = expectKept(port, new URL(second.url).port, logs, 'nats-server');
    // Killed without a chance to clean up, as with kill -9 of the hub's process group.
    const pid = Number(readFileSync(join(dataDir, 'nats-server.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => portRefuses(second.url)).toBe(true);
    await second.stop();

    const third = await start();
    kept = expectKept(kept, new URL(third.url).port, logs, 'nats-server');
    await third.stop();

    // Another program took the port meanwhile.
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(kept), '127.0.0.1', resolve));
    try {
      logs.length = 0;
      const fourth = await start();
      expect(new URL(fourth.url).port).not.toBe(kept);
      expect(logs.join('\n')).toContain(
        `port ${kept} of the last start (kept in ${join(dataDir, 'nats-server.port')}) is taken by another process; nats-server listens on port ${new URL(fourth.url).port} instead`,
      );
      await fourth.stop();
      kept = new URL(fourth.url).port;
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    // The new port is the one kept from now on.
    logs.length = 0;
    const fifth = await start();
    expectKept(kept, new URL(fifth.url).port, logs, 'nats-server');
    await fifth.stop();
  });

  it('rejects with a one-line NatsServerNotFoundError when the binary is missing', async () => {
    const err: unknown = await startNatsServer({
      dataDir,
      binary: '/nonexistent/nats-server',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerNotFoundError);
    const error = err as NatsServerNotFoundError;
    expect(error.name).toBe('NatsServerNotFoundError');
    expect(error.message).toBe(
      'nats-server was not found at /nonexistent/nats-server; install it (Debian/Ubuntu: apt-get install nats-server, ' +
        'macOS: brew install nats-server) or set NATS_SERVER_BIN, or point NATS_URL at an existing NATS server',
    );
    expect(error.message).not.toContain('\n');
  });

  it('reports "not found on PATH" when PATH is empty and no fallback path has it', () => {
    let err: unknown;
    try {
      findNatsServerBinary({ env: { PATH: '' }, fallbacks: ['/nonexistent/nats-server'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NatsServerNotFoundError);
    expect((err as Error).message).toMatch(
      /^nats-server was not found on PATH; install it \(Debian\/Ubuntu: apt-get install nats-server/,
    );
    expect((err as Error).message).not.toContain('\n');
  });

  it('rejects when NATS_SERVER_BIN points nowhere, with an empty PATH', async () => {
    const saved = { PATH: process.env.PATH, NATS_SERVER_BIN: process.env.NATS_SERVER_BIN };
    process.env.PATH = '';
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    try {
      await expect(startNatsServer({ dataDir })).rejects.toThrow(
        new NatsServerNotFoundError('at /nonexistent/nats-server (NATS_SERVER_BIN)'),
      );
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
