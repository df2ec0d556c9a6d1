import { Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AgentSequenceRepository } from '../../libs/db/index.js';
import { DATA_SOURCE } from '../shared/tokens.js';
import { AgentGateway } from './agent-gateway.js';
import { AgentRequests } from './agent-requests.js';
import { DeliveryLoop } from './delivery-loop.js';
import { DesiredStatePublisher } from './desired-state-publisher.js';
import { RolloutActionsHandler } from './rollout-actions.handler.js';
import { RolloutController } from './rollout-controller.js';

/**
 * The rollouts service: which revision each cluster should run (the delivery loop and the
 * rollout controller), publishing it (the desired-state publisher), answering agents (the
 * gateway) and operators' rollout actions.
 */
@Module({
  providers: [
    AgentGateway,
    AgentRequests,
    DeliveryLoop,
    DesiredStatePublisher,
    RolloutActionsHandler,
    RolloutController,
    {
      provide: AgentSequenceRepository,
      inject: [DATA_SOURCE],
      useFactory: (ds: DataSource) => new AgentSequenceRepository(ds),
    },
  ],
})
export class RolloutsModule {}
