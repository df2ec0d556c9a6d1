import {
  type DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type NatsConnection, connect, credsAuthenticator } from '@nats-io/transport-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import { type HubConfig, natsServers } from '../../libs/config/config.js';
import { PayloadSigner, generateSigningKeyPair } from '../../libs/contracts/signing.js';
import { createSubjects } from '../../libs/contracts/subjects.js';
import {
  BundleRepository,
  ClusterGroupRepository,
  ClusterRepository,
  DeploymentRepository,
  FleetMetricsRepository,
  GitRepoRepository,
  HubSettingsRepository,
  PlanRepository,
  RolloutRepository,
  TokenRepository,
  openDatabase,
  prepareSecretsAtRest,
} from '../../libs/db/index.js';
import { systemClock, type TimerClock } from '../../libs/liveness/lease.js';
import { NatsAuthority, readNatsAuthKeys } from '../../libs/nats-auth/index.js';
import { SecretBox, loadSecretKey } from '../../libs/secrets/index.js';

/**
 * Repositories every service may use; each wraps the shared data source (the api service binds
 * them to its own pool as well).
 */
export const repositories = [
  ClusterRepository,
  ClusterGroupRepository,
  TokenRepository,
  BundleRepository,
  DeploymentRepository,
  RolloutRepository,
  PlanRepository,
] as const;
/** Repositories that keep secrets: they encrypt with the hub's SecretBox. */
const secretRepositories = [GitRepoRepository, HubSettingsRepository] as const;
import { FleetMetrics } from './fleet-metrics.js';
import { ReadinessService } from './readiness.service.js';
import {
  CLOCK,
  DATA_SOURCE,
  HUB_CONFIG,
  MAIN_DATA_SOURCE,
  METRICS_REGISTRY,
  NATS_AUTH,
  NATS_CONNECTION,
  SECRET_BOX,
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

  /** `clock`: the time and timers of the services (CLOCK); tests pass one they move ahead. */
  static forRoot(config: ResolvedHubConfig, clock: TimerClock = systemClock): DynamicModule {
    return {
      module: InfrastructureModule,
      providers: [
        { provide: HUB_CONFIG, useValue: config },
        { provide: SUBJECTS, useValue: createSubjects(config.subjectPrefix) },
        {
          provide: DATA_SOURCE,
          useFactory: () => openDatabase(config.databaseUrl, { poolSize: config.dbPoolSize }),
        },
        { provide: MAIN_DATA_SOURCE, useExisting: DATA_SOURCE },
        { provide: NATS_AUTH, useFactory: () => loadNatsAuth(config) },
        {
          // As a hub user of the Flotilla account (full access in it) when NATS authenticates.
          provide: NATS_CONNECTION,
          inject: [NATS_AUTH],
          useFactory: async (auth: NatsAuthority | null) =>
            connect({
              // One URL or the members of a NATS cluster, comma-separated (as agents read it).
              servers: natsServers(config.natsUrl),
              name: 'flotilla-hub',
              maxReconnectAttempts: -1,
              reconnectTimeWait: 1000,
              authenticator:
                auth === null
                  ? undefined
                  : credsAuthenticator(new TextEncoder().encode(await auth.hubCredentials())),
            }),
        },
        { provide: CLOCK, useValue: clock },
        {
          provide: METRICS_REGISTRY,
          useFactory: () => {
            const registry = new Registry();
            collectDefaultMetrics({ register: registry, prefix: 'flotilla_hub_' });
            return registry;
          },
        },
        {
          // FLOTILLA_SECRET_KEY or <dataDir>/secret.key; checked against what the database holds,
          // and secrets an older hub stored in plaintext are encrypted now.
          provide: SECRET_BOX,
          inject: [DATA_SOURCE],
          useFactory: async (ds: DataSource) => {
            const logger = new Logger('Secrets');
            const loaded = await loadSecretKey({
              key: config.secretKey?.reveal(),
              dataDir: config.dataDir,
            });
            for (const warning of loaded.warnings) logger.warn(warning);
            const box = new SecretBox(loaded.key);
            if (loaded.source === 'generated') {
              logger.log(
                `generated the secret key ${loaded.file} (key id ${box.keyId}); every replica needs the same key: set FLOTILLA_SECRET_KEY`,
              );
            }
            const { encrypted } = await prepareSecretsAtRest(ds, box);
            if (encrypted.hubSettings + encrypted.gitrepos > 0) {
              logger.log(
                `encrypted ${encrypted.gitrepos} GitRepo(s) and ${encrypted.hubSettings} hub setting(s) stored in plaintext by an earlier version`,
              );
            }
            return box;
          },
        },
        ...secretRepositories.map((Repo) => ({
          provide: Repo,
          inject: [DATA_SOURCE, SECRET_BOX],
          useFactory: (ds: DataSource, box: SecretBox) => new Repo(ds, box),
        })),
        {
          // One signing key for every replica, created by the first one to start.
          provide: SIGNER,
          inject: [HubSettingsRepository],
          useFactory: async (settings: HubSettingsRepository) =>
            new PayloadSigner(
              await settings.ensure(
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
        ReadinessService,
        {
          provide: FleetMetricsRepository,
          inject: [DATA_SOURCE],
          useFactory: (ds: DataSource) => new FleetMetricsRepository(ds),
        },
        FleetMetrics,
      ],
      exports: [
        CLOCK,
        HUB_CONFIG,
        SUBJECTS,
        DATA_SOURCE,
        MAIN_DATA_SOURCE,
        NATS_AUTH,
        NATS_CONNECTION,
        METRICS_REGISTRY,
        SECRET_BOX,
        SIGNER,
        ...repositories,
        ...secretRepositories,
        ReadinessService,
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

/**
 * The NatsAuthority of FLOTILLA_NATS_AUTH_DIR (or of the embedded nats-server), or null, with one
 * warning, when NATS runs without authentication.
 */
async function loadNatsAuth(config: ResolvedHubConfig): Promise<NatsAuthority | null> {
  if (config.natsAuthDir === undefined) {
    new Logger('NATS').warn(
      'NATS_URL is set without FLOTILLA_NATS_AUTH_DIR: NATS is used without authentication, so agents are not isolated from each other (any agent could read or forge any cluster\'s messages); see README "NATS security"',
    );
    return null;
  }
  return NatsAuthority.fromKeys(await readNatsAuthKeys(config.natsAuthDir));
}
