import { mkdir } from 'node:fs/promises';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { startNatsServer } from './nats-server.js';

export interface LocalInfrastructureOptions {
  /** Use this PostgreSQL; when absent an embedded one is started in `<dataDir>/postgres`. */
  databaseUrl?: string;
  /** Use this NATS; when absent a nats-server with JetStream is started in `<dataDir>/nats`. */
  natsUrl?: string;
  /** Flotilla's data dir (created when missing), e.g. `.flotilla`. */
  dataDir: string;
  /** Receives progress lines and the started servers' output. */
  log?: (line: string) => void;
}

/** PostgreSQL and NATS to run the hub against, and what of them this process started. */
export interface LocalInfrastructure {
  databaseUrl: string;
  natsUrl: string;
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
  await mkdir(opts.dataDir, { recursive: true });

  const [postgres, nats] = await Promise.allSettled([
    opts.databaseUrl === undefined
      ? startEmbeddedPostgres({ dataDir: opts.dataDir, log: (line) => log(`[postgres] ${line}`) })
      : undefined,
    opts.natsUrl === undefined
      ? startNatsServer({ dataDir: opts.dataDir, log: (line) => log(`[nats] ${line}`) })
      : undefined,
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
    embedded: { postgres: opts.databaseUrl === undefined, nats: opts.natsUrl === undefined },
    stop: () => (stopping ??= stopAll()),
  };
}
