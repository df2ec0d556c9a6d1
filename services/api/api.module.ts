import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import {
  ApiTokenRepository,
  NatsRevocationRepository,
  NotificationRepository,
  WebhookDeliveryRepository,
} from '../../libs/db/index.js';
import type { SecretBox } from '../../libs/secrets/index.js';
import { DATA_SOURCE, SECRET_BOX } from '../shared/tokens.js';
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
/**
 * The api service: REST under /api/v1 and gRPC `flotilla.v1.FleetService`, behind API-token
 * authentication with roles (see AuthGuard).
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
export class ApiModule {}
