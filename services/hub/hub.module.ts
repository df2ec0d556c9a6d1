import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { ApiModule } from '../api/api.module.js';
import { InfrastructureModule, type ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { ObservabilityController } from '../shared/observability.controller.js';
import { StatusModule } from '../status/status.module.js';

/** The hub services that can run in this process. */
export const hubServices = {
  api: ApiModule,
  status: StatusModule,
} as const satisfies Record<string, Type>;
export type HubServiceName = keyof typeof hubServices;
export const hubServiceNames = Object.keys(hubServices) as HubServiceName[];

/** Composition root: the selected services over shared infrastructure, plus health and metrics. */
@Module({})
export class HubModule {
  static forRoot(config: ResolvedHubConfig, services: readonly HubServiceName[]): DynamicModule {
    return {
      module: HubModule,
      imports: [InfrastructureModule.forRoot(config), ...services.map((s) => hubServices[s])],
      controllers: [ObservabilityController],
    };
  }
}
