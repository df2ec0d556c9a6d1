import { Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { NotificationRepository } from '../../libs/db/index.js';
import type { SecretBox } from '../../libs/secrets/index.js';
import { DATA_SOURCE, SECRET_BOX } from '../shared/tokens.js';
import { DeliveryWorker } from './delivery-worker.js';
import { NotificationRouter } from './notification-router.js';

/**
 * The notifications service: hub events → rules → the outbox in PostgreSQL → webhooks, chat
 * and forge commit statuses (see README "Notifications").
 */
@Module({
  providers: [
    {
      provide: NotificationRepository,
      inject: [DATA_SOURCE, SECRET_BOX],
      useFactory: (ds: DataSource, box: SecretBox) => new NotificationRepository(ds, box),
    },
    DeliveryWorker,
    NotificationRouter,
  ],
})
export class NotificationsModule {}
