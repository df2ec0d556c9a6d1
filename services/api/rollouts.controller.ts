import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parsePageRequest } from '../../libs/db/index.js';
import { openApiSchema } from './dto.js';
import { RolloutsService } from './rollouts.service.js';
import { Access } from '../shared/access.decorator.js';
import { CallerName } from './auth/auth.guard.js';

const ActionBody = z.strictObject({
  reason: z.string().max(500).optional(),
  /** For promote: the stage the operator means; refused (409) when another stage is current. */
  stage: z.string().min(1).max(253).optional(),
});

/** `/api/v1/rollouts`: staged rollouts, and the operator actions on them. */
@ApiTags('rollouts')
@Controller('api/v1/rollouts')
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Access('viewer')
  @Get()
  @ApiOperation({ summary: 'List rollouts, newest first' })
  @ApiQuery({ name: 'bundle', required: false })
  @ApiQuery({ name: 'state', required: false })
  list(
    @Query('bundle') bundle?: string,
    @Query('state') state?: string,
    @Query('limit') limit?: string,
    @Query('continue') token?: string,
  ) {
    return this.rollouts.list(
      { bundle: bundle || undefined, state: state || undefined },
      parsePageRequest(limit, token),
    );
  }

  @Access('viewer')
  @Get(':id')
  @ApiOperation({ summary: 'A rollout with its stages, per-cluster states and audit trail' })
  async get(@Param('id') id: string) {
    return { ...(await this.rollouts.get(id)), audit: await this.rollouts.audit(id) };
  }

  @Access('operator')
  @Post(':id/:action')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'pause | resume | promote (pass the current gate; with `stage`, only if that stage is still current) | abort | rollback',
  })
  @ApiBody({ schema: openApiSchema(ActionBody), required: false })
  act(
    @Param('id') id: string,
    @Param('action') action: string,
    @Body() body: unknown,
    @CallerName() caller: string | undefined,
    @Headers('x-flotilla-actor') actor?: string,
  ) {
    const { reason, stage } = ActionBody.parse(body ?? {});
    return this.rollouts.act(id, action, actorName('api', caller, actor), reason, stage);
  }
}

/**
 * Who asked, for the audit trail: the API the action came through, the API token's name, and
 * the person the client says it acts for (`X-Flotilla-Actor`, not verified), e.g.
 * `api:ci-deployer/alice`. With authentication off there is no token name.
 */
export function actorName(
  via: 'api' | 'grpc',
  token: string | undefined,
  onBehalfOf?: string,
): string {
  const person = onBehalfOf?.trim().slice(0, 100);
  const who = [token, person].filter((p) => p !== undefined && p !== '').join('/');
  return who === '' ? via : `${via}:${who}`;
}
