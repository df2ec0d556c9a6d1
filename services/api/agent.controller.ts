import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { bearerToken } from './bearer.js';
import { ClustersService } from './clusters.service.js';
import { AgentRegisterBody, openApiSchema, parseBody } from './dto.js';

/** Endpoints agents call: bootstrap (agent token) and self-registration (registration token). */
@ApiTags('agent')
@ApiBearerAuth()
@Controller('api/v1/agent')
export class AgentController {
  constructor(private readonly clusters: ClustersService) {}

  @Post('bootstrap')
  @HttpCode(200)
  @ApiOperation({ summary: "Exchange an agent token for the agent's cluster and NATS details" })
  bootstrap(@Headers('authorization') authorization?: string) {
    return this.clusters.bootstrap(bearerToken(authorization));
  }

  @Post('register')
  @ApiOperation({ summary: 'Register this cluster with a registration token' })
  @ApiBody({ schema: openApiSchema(AgentRegisterBody) })
  register(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    const token = bearerToken(authorization);
    const input = parseBody(AgentRegisterBody, body);
    return this.clusters.registerWithToken(token, input.name, input.labels);
  }
}
