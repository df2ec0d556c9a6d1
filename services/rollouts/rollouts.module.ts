import { Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AgentSequenceRepository } from '../../libs/db/index.js';
import { DATA_SOURCE } from '../shared/tokens.js';
import { AgentGateway } from './agent-gateway.js';
import { DeliveryService } from './delivery.service.js';
import { RolloutController } from './rollout-controller.js';

/** The rollouts service: which revision each cluster should run, and publishing it. */
@Module({
  providers: [
    AgentGateway,
    DeliveryService,
    RolloutController,
    {
      provide: AgentSequenceRepository,
      inject: [DATA_SOURCE],
      useFactory: (ds: DataSource) => new AgentSequenceRepository(ds),
    },
  ],
})
export class RolloutsModule {}
