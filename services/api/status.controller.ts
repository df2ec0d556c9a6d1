import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  DeploymentRepository,
  InvalidInputError,
  encodeContinue,
  parsePageRequest,
} from '../../libs/db/index.js';
import { FleetStatusService } from './fleet-status.service.js';
import { summarize } from './fleet-summary.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/status`: the whole fleet at a glance, with every non-ready deployment (paginated). */
@ApiTags('status')
@Access('viewer')
@Controller('api/v1/status')
export class StatusController {
  constructor(
    private readonly fleet: FleetStatusService,
    private readonly deployments: DeploymentRepository,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Cluster counts, deployment counts by state, and the non-ready deployments',
  })
  async status(@Query('limit') limit?: string, @Query('continue') token?: string) {
    const page = parsePageRequest(limit, token);
    const offset = page.after === undefined ? 0 : Number(page.after);
    if (!Number.isInteger(offset) || offset < 0)
      throw new InvalidInputError('continue token is malformed');
    const [fleet, rows] = await Promise.all([this.fleet.status(), this.deployments.list()]);
    const s = summarize(rows);
    const nonReady = s.nonReady.slice(offset, offset + page.limit);
    const next =
      offset + page.limit < s.nonReady.length
        ? encodeContinue(String(offset + page.limit))
        : undefined;
    return {
      clusters: fleet.clusters,
      deployments: { total: s.total, byState: s.byState },
      nonReady: nonReady.map((d) => ({
        cluster: d.cluster,
        bundle: d.bundle,
        state: d.state,
        message: d.message,
      })),
      nonReadyTotal: s.nonReady.length,
      ...(next ? { continue: next } : {}),
    };
  }
}
