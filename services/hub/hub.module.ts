import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { TimerClock } from '../../libs/liveness/lease.js';
import { ApiModule } from '../api/api.module.js';
import { InfrastructureModule, type ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { ObservabilityController } from '../shared/observability.controller.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { ResolverModule } from '../resolver/resolver.module.js';
import { RolloutsModule } from '../rollouts/rollouts.module.js';
import { StatusModule } from '../status/status.module.js';
import { type HubServiceName, hubServiceNames } from './service-names.js';

/** The Nest module of each hub service. */
export const hubServices: Record<HubServiceName, Type> = {
  api: ApiModule,
  resolver: ResolverModule,
  rollouts: RolloutsModule,
  status: StatusModule,
  notifications: NotificationsModule,
};
export { type HubServiceName, hubServiceNames };

/** Composition root: the selected services over shared infrastructure, plus health and metrics. */
@Module({})
export class HubModule {
  static forRoot(
    config: ResolvedHubConfig,
    services: readonly HubServiceName[],
    clock?: TimerClock,
  ): DynamicModule {
    return {
      module: HubModule,
      imports: [
        InfrastructureModule.forRoot(config, clock),
        ...services.map((s) => hubServices[s]),
      ],
      controllers: [ObservabilityController],
    };
  }
}
