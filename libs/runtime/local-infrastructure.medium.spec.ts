import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsAuthority, readNatsAuthKeys } from '../nats-auth/index.js';
import { startLocalInfrastructure, type LocalInfrastructure } from './local-infrastructure.js';

describe('startLocalInfrastructure', () => {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-infra-'));
  // When the tests run as root, PostgreSQL runs as user postgres and must be able to enter it.
  chmodSync(root, 0o711);
  const started: LocalInfrastructure[] = [];

  afterAll(async () => {
    for (const infra of started) await infra.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('starts only NATS when a database URL is given, in a data dir it creates, with JWT authentication', async () => {
    const dataDir = join(root, 'only-nats', '.flotilla');
    const databaseUrl = 'postgres://someone@db.example:5432/flotilla';
    const infra = await startLocalInfrastructure({ databaseUrl, dataDir });
    started.push(infra);

    expect(infra.embedded).toEqual({ postgres: false, nats: true });
    expect(infra.databaseUrl).toBe(databaseUrl);
    expect(existsSync(join(dataDir, 'nats'))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
    expect(infra.natsAuthDir).toBe(join(dataDir, 'nats-auth'));

    // Only users of Flotilla's operator get in.
    await expect(connect({ servers: infra.natsUrl, reconnect: false })).rejects.toThrow(
      /Authorization Violation/i,
    );
    const authority = NatsAuthority.fromKeys(await readNatsAuthKeys(infra.natsAuthDir!));
    const creds = new TextEncoder().encode(await authority.hubCredentials());
    const nc = await connect({
      servers: infra.natsUrl,
      reconnect: false,
      authenticator: credsAuthenticator(creds),
    });
    await nc.flush();
    await nc.close();

    await infra.stop();
    await expect(
      connect({ servers: infra.natsUrl, reconnect: false, timeout: 1_000 }),
    ).rejects.toThrow();
  });

  it('starts nothing when both URLs are given', async () => {
    const infra = await startLocalInfrastructure({
      databaseUrl: 'postgres://a/b',
      natsUrl: 'nats://c:4222',
      dataDir: join(root, 'nothing'),
    });
    expect(infra.embedded).toEqual({ postgres: false, nats: false });
    expect(infra.natsUrl).toBe('nats://c:4222');
    expect(infra.natsAuthDir).toBeUndefined();
    await infra.stop();
  });

  it('stops the embedded PostgreSQL again when nats-server cannot be started', async () => {
    const dataDir = join(root, 'nats-missing');
    const saved = process.env.NATS_SERVER_BIN;
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    try {
      await expect(startLocalInfrastructure({ dataDir })).rejects.toThrow(
        /nats-server was not found/,
      );
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved;
    }
    // PostgreSQL was initialised and started in parallel, then shut down (it removes its pid file).
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
