import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import { pingDatabase } from '../../libs/db/index.js';
import { DATA_SOURCE, NATS_CONNECTION } from './tokens.js';

/** One readiness check: undefined when fine, else what is wrong (a short sentence). */
export type ReadinessCheck = () => Promise<string | undefined>;

/** A check that has not answered within this long fails. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * What `/readyz` reports: whether PostgreSQL answers, whether the NATS connection is up (followed
 * from the client's status events, so a disconnect shows at once, not when a request times out),
 * and the checks services register for what they rely on (e.g. the status stream).
 */
@Injectable()
export class ReadinessService implements OnModuleInit, OnApplicationShutdown {
  private readonly checks = new Map<string, ReadinessCheck>();
  private natsProblem: string | undefined;
  private stopped = false;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
  ) {}

  onModuleInit(): void {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (this.stopped) return;
        if (status.type === 'disconnect') this.natsProblem = 'disconnected';
        else if (status.type === 'reconnecting') this.natsProblem ??= 'reconnecting';
        else if (status.type === 'reconnect') this.natsProblem = undefined;
      }
    })().catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  /** Adds a check under `name` (one per name; a later one replaces it). */
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Every check's result, PostgreSQL's first: `ok` or `failing: <why>`. */
  async report(): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    try {
      await pingDatabase(this.ds);
      result.postgres = 'ok';
    } catch (err) {
      result.postgres = `failing: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (this.nc.isClosed()) result.nats = 'failing: connection closed';
    else result.nats = this.natsProblem === undefined ? 'ok' : `failing: ${this.natsProblem}`;
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<string>((resolve) => {
          timer = setTimeout(
            () => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`),
            CHECK_TIMEOUT_MS,
          );
        });
        try {
          const problem = await Promise.race([
            check().catch((err: unknown) => (err instanceof Error ? err.message : String(err))),
            timeout,
          ]);
          result[name] = problem === undefined ? 'ok' : `failing: ${problem}`;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return result;
  }
}
