import { Module } from '@nestjs/common';
import { DeliveryService } from './delivery.service.js';
import { RolloutController } from './rollout-controller.js';

/** The rollouts service: which revision each cluster should run, and publishing it. */
@Module({ providers: [DeliveryService, RolloutController] })
export class RolloutsModule {}
