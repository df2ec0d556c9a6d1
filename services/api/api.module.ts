import { Module } from '@nestjs/common';
import { AgentController } from './agent.controller.js';
import { BundlesController } from './bundles.controller.js';
import { ClusterEventsPublisher } from './cluster-events.publisher.js';
import { ClusterGroupsController } from './cluster-groups.controller.js';
import { ClusterGroupsService } from './cluster-groups.service.js';
import { ClustersController } from './clusters.controller.js';
import { ClustersService } from './clusters.service.js';
import { FleetStatusService } from './fleet-status.service.js';
import { FleetGrpcController } from './fleet.grpc.controller.js';
import { GitReposController } from './gitrepos.controller.js';
import { GitReposService } from './gitrepos.service.js';
import { RegistrationTokensController } from './registration-tokens.controller.js';
import { RegistrationTokensService } from './registration-tokens.service.js';
import { RolloutsController } from './rollouts.controller.js';
import { RolloutsService } from './rollouts.service.js';
import { StatusController } from './status.controller.js';
import { WebhooksController } from './webhooks.controller.js';

/** The api service: REST under /api/v1 and gRPC `flotilla.v1.FleetService`. */
@Module({
  controllers: [
    ClustersController,
    ClusterGroupsController,
    RegistrationTokensController,
    AgentController,
    GitReposController,
    BundlesController,
    StatusController,
    RolloutsController,
    WebhooksController,
    FleetGrpcController,
  ],
  providers: [
    ClustersService,
    ClusterGroupsService,
    RegistrationTokensService,
    ClusterEventsPublisher,
    FleetStatusService,
    GitReposService,
    RolloutsService,
  ],
})
export class ApiModule {}
