import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../../shared/access.decorator.js';
import { CreateApiTokenBody, openApiSchema, parseBody } from '../dto.js';
import { ApiTokensService } from './api-tokens.service.js';

/** `/api/v1/api-tokens`: tokens for the REST and gRPC API, each with a role. Admins only. */
@ApiTags('api-tokens')
@Access('admin')
@Controller('api/v1/api-tokens')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API token with a role (the token is shown once)' })
  @ApiBody({ schema: openApiSchema(CreateApiTokenBody) })
  create(@Body() body: unknown) {
    return this.tokens.create(parseBody(CreateApiTokenBody, body));
  }

  @Get()
  @ApiOperation({ summary: 'List API tokens (without their secrets)' })
  list() {
    return this.tokens.list();
  }

  @Get(':name')
  @ApiOperation({ summary: 'One API token (without its secret)' })
  get(@Param('name') name: string) {
    return this.tokens.get(name);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API token at once' })
  async delete(@Param('name') name: string): Promise<void> {
    await this.tokens.delete(name);
  }
}
