import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import {
  ApiTokenRepository,
  GitRepoRepository,
  NatsRevocationRepository,
  NotificationRepository,
  WebhookDeliveryRepository,
  createDataSource,
} from '../../libs/db/index.js';
import type { SecretBox } from '../../libs/secrets/index.js';
import { type ResolvedHubConfig, repositories } from '../shared/infrastructure.module.js';
import { DATA_SOURCE, HUB_CONFIG, MAIN_DATA_SOURCE, SECRET_BOX } from '../shared/tokens.js';
import { AgentRateLimiter } from './auth/agent-rate-limit.js';
import { ApiTokensController } from './auth/api-tokens.controller.js';
import { ApiTokensService } from './auth/api-tokens.service.js';
import { AuthGuard } from './auth/auth.guard.js';
import { AgentController } from './agent.controller.js';
import { AgentCredentialsService } from './agent-credentials.service.js';
import { BundlesController } from './bundles.controller.js';
import { ClusterEventsPublisher } from './cluster-events.publisher.js';
import { ClusterGroupsController } from './cluster-groups.controller.js';
import { BundlesService } from './bundles.service.js';
import { ClusterGroupsService } from './cluster-groups.service.js';
import { ClustersController } from './clusters.controller.js';
import { ClustersService } from './clusters.service.js';
import { FleetStatusService } from './fleet-status.service.js';
import { FleetSummaryCache } from './fleet-summary-cache.js';
import { FleetGrpcController } from './fleet.grpc.controller.js';
import { GitReposController } from './gitrepos.controller.js';
import { GitReposService } from './gitrepos.service.js';
import { PlansController } from './plans.controller.js';
import { PlansService } from './plans.service.js';
import { NotificationsController } from './notifications.controller.js';
import { NotificationsService } from './notifications.service.js';
import { RegistrationTokensController } from './registration-tokens.controller.js';
import { RegistrationTokensService } from './registration-tokens.service.js';
import { RolloutsController } from './rollouts.controller.js';
import { RolloutsService } from './rollouts.service.js';
import { StatusController } from './status.controller.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

import { DashboardController } from './dashboard.controller.js';
import { LiveEventsService } from './live-events.service.js';
/** The api service's own pool: DATA_SOURCE inside this module. */
const API_DATA_SOURCE = Symbol('API_DATA_SOURCE');

/**
 * The api service: REST under /api/v1 and gRPC `flotilla.v1.FleetService`, behind API-token
 * authentication with roles (see AuthGuard).
 *
 * Its PostgreSQL connections are its own (FLOTILLA_API_DB_POOL, default 4; opened once the main
 * data source has migrated the schema): inside this module DATA_SOURCE and the repositories are
 * bound to that pool, so a status burst or a delivery pass holding the main pool's connections
 * never makes an API call wait for one.
 */
@Module({
  controllers: [
    ClustersController,
    ClusterGroupsController,
    RegistrationTokensController,
    ApiTokensController,
    AgentController,
    GitReposController,
    BundlesController,
    StatusController,
    RolloutsController,
    PlansController,
    WebhooksController,
    FleetGrpcController,
    DashboardController,
    NotificationsController,
  ],
  providers: [
    {
      provide: API_DATA_SOURCE,
      inject: [MAIN_DATA_SOURCE, HUB_CONFIG],
      useFactory: async (_migrated: DataSource, config: ResolvedHubConfig) => {
        const ds = createDataSource(config.databaseUrl, {
          poolSize: config.apiDbPoolSize,
          applicationName: 'flotilla-hub-api',
        });
        await ds.initialize();
        return ds;
      },
    },
    { provide: DATA_SOURCE, useExisting: API_DATA_SOURCE },
    // The shared infrastructure's repositories, bound here to the api service's own pool.
    ...repositories.map((Repo) => ({
      provide: Repo,
      inject: [DATA_SOURCE],
      useFactory: (ds: DataSource) => new Repo(ds),
    })),
    {
      provide: GitRepoRepository,
      inject: [DATA_SOURCE, SECRET_BOX],
      useFactory: (ds: DataSource, box: SecretBox) => new GitRepoRepository(ds, box),
    },
    {
      provide: ApiTokenRepository,
      inject: [DATA_SOURCE],
      useFactory: (ds: DataSource) => new ApiTokenRepository(ds),
    },
    ApiTokensService,
    AgentRateLimiter,
    {
      provide: NatsRevocationRepository,
      inject: [DATA_SOURCE],
      useFactory: (ds: DataSource) => new NatsRevocationRepository(ds),
    },
    AgentCredentialsService,
    {
      provide: WebhookDeliveryRepository,
      inject: [DATA_SOURCE],
      useFactory: (ds: DataSource) => new WebhookDeliveryRepository(ds),
    },
    // Every REST and gRPC handler of this process is checked against its @Access.
    { provide: APP_GUARD, useClass: AuthGuard },
    BundlesService,
    ClustersService,
    ClusterGroupsService,
    RegistrationTokensService,
    ClusterEventsPublisher,
    FleetStatusService,
    FleetSummaryCache,
    GitReposService,
    RolloutsService,
    WebhooksService,
    PlansService,
    LiveEventsService,
    {
      provide: NotificationRepository,
      inject: [DATA_SOURCE, SECRET_BOX],
      useFactory: (ds: DataSource, box: SecretBox) => new NotificationRepository(ds, box),
    },
    NotificationsService,
  ],
})
export class ApiModule implements OnApplicationShutdown {
  constructor(@Inject(API_DATA_SOURCE) private readonly ds: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
