import {
  type DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { HubConfig } from '../../libs/config/config.js';
import { PayloadSigner, generateSigningKeyPair } from '../../libs/contracts/signing.js';
import { createSubjects } from '../../libs/contracts/subjects.js';
import {
  BundleRepository,
  ClusterGroupRepository,
  ClusterRepository,
  DeploymentRepository,
  GitRepoRepository,
  HubSettingsRepository,
  RolloutRepository,
  TokenRepository,
  openDatabase,
} from '../../libs/db/index.js';

/** Repositories every service may use; each wraps the shared data source. */
const repositories = [
  ClusterRepository,
  ClusterGroupRepository,
  TokenRepository,
  GitRepoRepository,
  BundleRepository,
  DeploymentRepository,
  RolloutRepository,
] as const;
import {
  DATA_SOURCE,
  HUB_CONFIG,
  METRICS_REGISTRY,
  NATS_CONNECTION,
  SIGNER,
  SUBJECTS,
} from './tokens.js';

/** Resolved connection settings: by now embedded PostgreSQL/NATS have been started if needed. */
export interface ResolvedHubConfig extends HubConfig {
  databaseUrl: string;
  natsUrl: string;
}

/**
 * PostgreSQL (migrated), NATS, subjects, repositories and the metrics registry, shared by every
 * service that runs in this process. Closed in reverse order on shutdown.
 */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Infrastructure');

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  static forRoot(config: ResolvedHubConfig): DynamicModule {
    return {
      module: InfrastructureModule,
      providers: [
        { provide: HUB_CONFIG, useValue: config },
        { provide: SUBJECTS, useValue: createSubjects(config.subjectPrefix) },
        { provide: DATA_SOURCE, useFactory: () => openDatabase(config.databaseUrl) },
        {
          provide: NATS_CONNECTION,
          useFactory: () =>
            connect({
              servers: config.natsUrl,
              name: 'flotilla-hub',
              maxReconnectAttempts: -1,
              reconnectTimeWait: 1000,
            }),
        },
        {
          provide: METRICS_REGISTRY,
          useFactory: () => {
            const registry = new Registry();
            collectDefaultMetrics({ register: registry, prefix: 'flotilla_hub_' });
            return registry;
          },
        },
        {
          // One signing key for every replica, created by the first one to start.
          provide: SIGNER,
          inject: [DATA_SOURCE],
          useFactory: async (ds: DataSource) =>
            new PayloadSigner(
              await new HubSettingsRepository(ds).ensure(
                'desired-state-signing-key',
                () => generateSigningKeyPair().privateKeyPem,
              ),
            ),
        },
        ...repositories.map((Repo) => ({
          provide: Repo,
          inject: [DATA_SOURCE],
          useFactory: (ds: DataSource) => new Repo(ds),
        })),
      ],
      exports: [
        HUB_CONFIG,
        SUBJECTS,
        DATA_SOURCE,
        NATS_CONNECTION,
        METRICS_REGISTRY,
        SIGNER,
        ...repositories,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      if (!this.nc.isClosed()) await this.nc.drain();
    } catch (err) {
      this.logger.warn(`closing NATS: ${String(err)}`);
    }
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
