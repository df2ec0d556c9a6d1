import { Module } from '@nestjs/common';
import { DeliveryService } from './delivery.service.js';

/** The rollouts service: which revision each cluster should run, and publishing it. */
@Module({ providers: [DeliveryService] })
export class RolloutsModule {}
