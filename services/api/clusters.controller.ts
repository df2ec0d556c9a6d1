import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { parsePageRequest } from '../../libs/db/index.js';
import { ClustersService } from './clusters.service.js';
import { PatchClusterBody, RegisterClusterBody, openApiSchema, parseBody } from './dto.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/clusters`: register, list by label selector, read, relabel, delete. */
@ApiTags('clusters')
@Controller('api/v1/clusters')
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  @Access('admin')
  @Post()
  @ApiOperation({
    summary: 'Register a cluster; the response carries its agent token (shown once)',
  })
  @ApiBody({ schema: openApiSchema(RegisterClusterBody) })
  register(@Body() body: unknown) {
    const input = parseBody(RegisterClusterBody, body);
    return this.clusters.register(input.name, input.labels);
  }

  @Access('viewer')
  @Get()
  @ApiOperation({ summary: 'List clusters' })
  @ApiQuery({
    name: 'labelSelector',
    required: false,
    description: 'e.g. env=prod,region in (eu,us),!legacy',
  })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'continue', required: false })
  list(
    @Query('labelSelector') labelSelector?: string,
    @Query('limit') limit?: string,
    @Query('continue') continueToken?: string,
  ) {
    return this.clusters.list(labelSelector, parsePageRequest(limit, continueToken));
  }

  @Access('viewer')
  @Get(':name')
  @ApiOperation({ summary: 'A cluster with its state and deployments' })
  get(@Param('name') name: string) {
    return this.clusters.get(name);
  }

  @Access('admin')
  @Patch(':name')
  @ApiOperation({ summary: "Replace a cluster's labels" })
  @ApiBody({ schema: openApiSchema(PatchClusterBody) })
  patch(@Param('name') name: string, @Body() body: unknown) {
    return this.clusters.replaceLabels(name, parseBody(PatchClusterBody, body).labels);
  }

  @Access('admin')
  @Post(':name/token')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Rotate a cluster's agent token: the old one and its agent's NATS credentials are revoked; the new token is shown once",
  })
  @ApiOkResponse({
    schema: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
  })
  rotateToken(@Param('name') name: string) {
    return this.clusters.rotateAgentToken(name);
  }

  @Access('admin')
  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({
    summary: "Delete a cluster, revoking its agent token and its agent's NATS credentials",
  })
  async delete(@Param('name') name: string): Promise<void> {
    await this.clusters.delete(name);
  }
}
