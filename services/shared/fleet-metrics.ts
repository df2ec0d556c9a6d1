import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { clusterStates } from '../../libs/contracts/states.js';
import { FleetMetricsRepository } from '../../libs/db/index.js';
import { METRICS_REGISTRY, NATS_CONNECTION } from './tokens.js';

/**
 * The fleet's gauges (clusters, deployments, rollouts, GitRepos by state), computed by SQL
 * aggregates when Prometheus scrapes, and the hub's NATS reconnects. Every hub process serves
 * them; with several replicas, aggregate with `max`.
 */
@Injectable()
export class FleetMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Metrics');
  private readonly reconnects: Counter;
  private stopped = false;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    repo: FleetMetricsRepository,
  ) {
    const logger = this.logger;
    new Gauge({
      name: 'flotilla_clusters',
      help: 'Clusters by connection state (Pending, Online, Offline)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of clusterStates) this.set({ state: s }, 0);
        for (const r of await rows(() => repo.clustersByState(), logger)) {
          this.set({ state: r.state }, r.count);
        }
      },
    });
    new Gauge({
      name: 'flotilla_deployments',
      help: 'Deployments (bundle on a cluster) by bundle and last reported state',
      labelNames: ['bundle', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await rows(() => repo.deploymentsByBundleAndState(), logger)) {
          this.set({ bundle: r.key, state: r.state }, r.count);
        }
      },
    });
    new Gauge({
      name: 'flotilla_rollouts',
      help: 'Rollouts by state (finished ones included: watch the running and failed states)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await rows(() => repo.rolloutsByState(), logger)) {
          this.set({ state: r.state }, r.count);
        }
      },
    });
    new Gauge({
      name: 'flotilla_gitrepos',
      help: 'GitRepos by the outcome of their last sync (ok, error)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        this.set({ state: 'ok' }, 0);
        this.set({ state: 'error' }, 0);
        for (const r of await rows(() => repo.gitReposByHealth(), logger)) {
          this.set({ state: r.state }, r.count);
        }
      },
    });
    this.reconnects = new Counter({
      name: 'flotilla_nats_reconnects_total',
      help: "Times this hub process's NATS connection was re-established",
      registers: [registry],
    });
  }

  onModuleInit(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (this.stopped) return;
        if (s.type === 'reconnect') this.reconnects.inc();
      }
    })().catch((err: unknown) => this.logger.warn(`NATS status watch ended: ${String(err)}`));
  }

  onModuleDestroy(): void {
    this.stopped = true;
  }
}

/** The rows, or none (and a warning) when the database does not answer: a scrape never fails. */
async function rows<T>(query: () => Promise<T[]>, logger: Logger): Promise<T[]> {
  try {
    return await query();
  } catch (err) {
    logger.warn(`metrics query failed: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}
