import { Module } from '@nestjs/common';
import { AgentGateway } from './agent-gateway.js';
import { DeliveryService } from './delivery.service.js';
import { RolloutController } from './rollout-controller.js';

/** The rollouts service: which revision each cluster should run, and publishing it. */
@Module({ providers: [AgentGateway, DeliveryService, RolloutController] })
export class RolloutsModule {}
