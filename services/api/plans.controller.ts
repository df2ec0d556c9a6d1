import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../shared/access.decorator.js';
import { PlansService } from './plans.service.js';

/** `/api/v1/plans`: stored plans (from `POST /api/v1/gitrepos/{name}/plan` or a PR webhook). */
@ApiTags('plans')
@Controller('api/v1/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Access('viewer')
  @Get(':id')
  @ApiOperation({
    summary: 'A stored plan, by its id or by commit sha (the newest plan of that commit)',
  })
  @ApiNotFoundResponse({ description: 'no such plan' })
  get(@Param('id') id: string) {
    return this.plans.get(id);
  }
}
