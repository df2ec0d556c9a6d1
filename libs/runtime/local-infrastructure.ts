import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { credsAuthenticator } from '@nats-io/transport-node';
import { NatsAuthority, ensureNatsAuthDir } from '../nats-auth/index.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

export interface LocalInfrastructureOptions {
  /** Use this PostgreSQL; when absent an embedded one is started in `<dataDir>/postgres`. */
  databaseUrl?: string;
  /** Use this NATS; when absent a nats-server with JetStream is started in `<dataDir>/nats`. */
  natsUrl?: string;
  /** Flotilla's data dir (created when missing), e.g. `.flotilla`. */
  dataDir: string;
  /**
   * The NATS auth directory of a started nats-server (keys generated there at the first start);
   * default `<dataDir>/nats-auth`. Not used when `natsUrl` is given.
   */
  natsAuthDir?: string;
  /** Receives progress lines and the started servers' output. */
  log?: (line: string) => void;
  /**
   * Receives what the operator should know about the started servers (a port of the last start
   * taken, an earlier run's leftovers cleared). Default: `log`.
   */
  notice?: (line: string) => void;
}

/** PostgreSQL and NATS to run the hub against, and what of them this process started. */
export interface LocalInfrastructure {
  databaseUrl: string;
  natsUrl: string;
  /** The NATS auth directory of the nats-server started here; undefined when `natsUrl` was given. */
  natsAuthDir: string | undefined;
  embedded: { postgres: boolean; nats: boolean };
  /** Stops what was started here (NATS, then PostgreSQL); given URLs are left alone. Idempotent. */
  stop(): Promise<void>;
}

interface Started {
  url: string;
  stop(): Promise<void>;
}

/**
 * Gives the hub a PostgreSQL and a NATS: the URLs given are used as they are, and whatever is
 * missing is started locally in `dataDir` (both in parallel). When one start fails, whatever did
 * start is stopped again before the error is rethrown.
 */
export async function startLocalInfrastructure(
  opts: LocalInfrastructureOptions,
): Promise<LocalInfrastructure> {
  const log = opts.log ?? (() => undefined);
  const notice = opts.notice ?? log;
  await mkdir(opts.dataDir, { recursive: true });
  const natsAuthDir = opts.natsAuthDir ?? join(opts.dataDir, 'nats-auth');

  const [postgres, nats] = await Promise.allSettled([
    opts.databaseUrl === undefined
      ? startEmbeddedPostgres({
          dataDir: opts.dataDir,
          log: (line) => log(`[postgres] ${line}`),
          notice: (line) => notice(`[postgres] ${line}`),
        })
      : undefined,
    opts.natsUrl === undefined ? startAuthenticatedNats(opts, natsAuthDir, log, notice) : undefined,
  ]);
  const started: Started[] = [postgres, nats].flatMap((r) =>
    r.status === 'fulfilled' && r.value !== undefined ? [r.value] : [],
  );
  // Reverse order of dependency: NATS first, then PostgreSQL.
  const stopAll = async (): Promise<void> => {
    for (const server of [...started].reverse()) await server.stop();
  };

  if (postgres.status === 'rejected' || nats.status === 'rejected') {
    await stopAll().catch((err: unknown) =>
      log(`cleanup after a failed start failed: ${String(err)}`),
    );
    throw postgres.status === 'rejected' ? postgres.reason : (nats as PromiseRejectedResult).reason;
  }

  const databaseUrl = opts.databaseUrl ?? postgres.value?.url;
  const natsUrl = opts.natsUrl ?? nats.value?.url;
  if (databaseUrl === undefined || natsUrl === undefined)
    throw new Error('unreachable: no URL after start');
  let stopping: Promise<void> | undefined;
  return {
    databaseUrl,
    natsUrl,
    natsAuthDir: opts.natsUrl === undefined ? natsAuthDir : undefined,
    embedded: { postgres: opts.databaseUrl === undefined, nats: opts.natsUrl === undefined },
    stop: () => (stopping ??= stopAll()),
  };
}

/**
 * A nats-server with decentralized JWT authentication: its keys and configuration are made in
 * `natsAuthDir` at the first start and kept (agents' credentials and revocations survive
 * restarts); account JWTs are kept in `<dataDir>/nats/jwt`.
 */
async function startAuthenticatedNats(
  opts: LocalInfrastructureOptions,
  natsAuthDir: string,
  log: (line: string) => void,
  notice: (line: string) => void,
): Promise<NatsServerHandle> {
  // Relative to the data dir, which is nats-server's working directory.
  const auth = await ensureNatsAuthDir(natsAuthDir, join('nats', 'jwt'));
  if (auth.created) log(`[nats] generated NATS operator and account keys in ${natsAuthDir}`);
  const probe = await NatsAuthority.fromKeys(auth.keys).hubCredentials('flotilla-readiness-probe');
  return startNatsServer({
    dataDir: opts.dataDir,
    configFile: auth.serverConfigFile,
    authenticator: credsAuthenticator(new TextEncoder().encode(probe)),
    log: (line) => log(`[nats] ${line}`),
    notice: (line) => notice(`[nats] ${line}`),
  });
}
