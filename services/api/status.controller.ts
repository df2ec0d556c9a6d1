import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvalidInputError, encodeContinue, parsePageRequest } from '../../libs/db/index.js';
import { FleetStatusService } from './fleet-status.service.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/status`: the whole fleet at a glance, with every non-ready deployment (paginated). */
@ApiTags('status')
@Access('viewer')
@Controller('api/v1/status')
export class StatusController {
  constructor(private readonly fleet: FleetStatusService) {}

  @Get()
  @ApiOperation({
    summary: 'Cluster counts, deployment counts by state, and the non-ready deployments',
  })
  async status(@Query('limit') limit?: string, @Query('continue') token?: string) {
    const page = parsePageRequest(limit, token);
    const offset = page.after === undefined ? 0 : Number(page.after);
    if (!Number.isInteger(offset) || offset < 0)
      throw new InvalidInputError('continue token is malformed');
    const fleet = await this.fleet.status({ offset, limit: page.limit });
    const nonReadyTotal = fleet.deployments.total - (fleet.deployments.byState.Ready ?? 0);
    const next =
      offset + page.limit < nonReadyTotal ? encodeContinue(String(offset + page.limit)) : undefined;
    return {
      clusters: fleet.clusters,
      deployments: fleet.deployments,
      nonReady: fleet.nonReady,
      nonReadyTotal,
      ...(next ? { continue: next } : {}),
    };
  }
}
