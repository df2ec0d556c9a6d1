import { Controller, Get, Inject, Query, Sse, type MessageEvent } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Observable, interval, map, merge, takeUntil } from 'rxjs';
import type { Role } from '../../libs/auth/index.js';
import type { FleetMatrixView, WhoamiView } from '../../libs/contracts/api-views.js';
import { ClusterRepository, DeploymentRepository } from '../../libs/db/index.js';
import { parseSelector } from '../../libs/selectors/index.js';
import { fleetMatrix } from '../../libs/status/matrix.js';
import { Access } from '../shared/access.decorator.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { HUB_CONFIG } from '../shared/tokens.js';
import { CallerName, CallerRole } from './auth/auth.guard.js';
import { deploymentView } from './fleet-summary.js';
import { LiveEventsService } from './live-events.service.js';

/** How often the live stream says it is alive, so a client notices a dead connection. */
export const LIVE_PING_MS = 10_000;

/** What the web dashboard reads beyond the resources: who is signed in, the matrix, live events. */
@ApiTags('dashboard')
@Controller('api/v1')
export class DashboardController {
  constructor(
    private readonly clusters: ClusterRepository,
    private readonly deployments: DeploymentRepository,
    private readonly live: LiveEventsService,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
  ) {}

  @Access('viewer')
  @Get('whoami')
  @ApiOperation({ summary: "The API token's name and role (what the caller may do)" })
  whoami(@CallerName() name: string | undefined, @CallerRole() role: Role | undefined): WhoamiView {
    return { name: name ?? null, role: role ?? null, authEnabled: !this.config.authDisabled };
  }

  @Access('viewer')
  @Get('fleet/matrix')
  @ApiOperation({
    summary:
      'Clusters × bundles: deployments counted by state, per cluster or per value of a label',
  })
  @ApiQuery({ name: 'labelSelector', required: false, description: 'env=prod,region in (eu)' })
  @ApiQuery({ name: 'groupBy', required: false, description: 'a label key; one row per value' })
  @ApiQuery({ name: 'search', required: false, description: 'part of a name or label value' })
  async matrix(
    @Query('labelSelector') labelSelector?: string,
    @Query('groupBy') groupBy?: string,
    @Query('search') search?: string,
  ): Promise<FleetMatrixView> {
    const selector = parseSelector(labelSelector ?? '');
    const [refs, names, rows] = await Promise.all([
      this.clusters.refs(),
      selector.length > 0 ? this.clusters.names(selector) : Promise.resolve(null),
      this.deployments.list(),
    ]);
    const selected = names === null ? refs : refs.filter((r) => names.includes(r.name));
    return fleetMatrix(
      selected,
      rows.map((r) => {
        const d = deploymentView(r);
        return { cluster: d.cluster, bundle: d.bundle, state: d.state };
      }),
      { groupBy, search },
    );
  }

  /**
   * Server-sent events: one `change` per hub event (cluster, deployment, GitRepo, bundle,
   * rollout, group) and a `ping` every 10 s. Authenticated like every call, with the
   * `Authorization` header (read it with fetch; the token never goes into a URL). Streams end
   * when the hub shuts down.
   */
  @Access('viewer')
  @Sse('events')
  @ApiOperation({ summary: 'Live changes of the fleet (text/event-stream)' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'a `change` event per hub event ({kind, name, at}), a `ping` every 10 s',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  events(): Observable<MessageEvent> {
    return merge(
      this.live.changes().pipe(map((e): MessageEvent => ({ type: 'change', data: e }))),
      interval(LIVE_PING_MS).pipe(
        map((): MessageEvent => ({ type: 'ping', data: { at: new Date().toISOString() } })),
      ),
    ).pipe(takeUntil(this.live.closed()));
  }
}
