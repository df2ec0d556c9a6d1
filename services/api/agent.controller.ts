import { Body, Controller, Headers, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { Access } from '../shared/access.decorator.js';
import { AgentRateLimiter } from './auth/agent-rate-limit.js';
import { bearerToken } from './bearer.js';
import { ClustersService } from './clusters.service.js';
import { AgentRegisterBody, openApiSchema, parseBody } from './dto.js';

/**
 * Endpoints agents call: bootstrap (agent token) and self-registration (registration token).
 * They take agent and registration tokens, not API tokens, and are rate limited.
 */
@ApiTags('agent')
@ApiBearerAuth()
@ApiTooManyRequestsResponse({ description: 'too many refused tokens, or one token used too often' })
@Access('agent')
@Controller('api/v1/agent')
export class AgentController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly limiter: AgentRateLimiter,
  ) {}

  @Post('bootstrap')
  @HttpCode(200)
  @ApiOperation({ summary: "Exchange an agent token for the agent's cluster and NATS details" })
  bootstrap(@Ip() ip: string, @Headers('authorization') authorization?: string) {
    const token = bearerToken(authorization);
    return this.limiter.limit(ip, token, () => this.clusters.bootstrap(token));
  }

  @Post('register')
  @ApiOperation({ summary: 'Register this cluster with a registration token' })
  @ApiBody({ schema: openApiSchema(AgentRegisterBody) })
  register(
    @Ip() ip: string,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ) {
    const token = bearerToken(authorization);
    const input = parseBody(AgentRegisterBody, body);
    return this.limiter.limit(ip, token, () =>
      this.clusters.registerWithToken(token, input.name, input.labels),
    );
  }
}
