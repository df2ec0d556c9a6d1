import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { parsePageRequest } from '../../libs/db/index.js';
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
  status(@Query('limit') limit?: string, @Query('continue') token?: string) {
    return this.fleet.statusPage(parsePageRequest(limit, token));
  }
}
