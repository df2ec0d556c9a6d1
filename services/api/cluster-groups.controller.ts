import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvalidInputError, parsePageRequest } from '../../libs/db/index.js';
import { ClusterGroupsService } from './cluster-groups.service.js';
import {
  CreateClusterGroupBody,
  ReplaceClusterGroupBody,
  openApiSchema,
  parseBody,
} from './dto.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/cluster-groups`: named label selectors with their live membership. */
@ApiTags('cluster-groups')
@Controller('api/v1/cluster-groups')
export class ClusterGroupsController {
  constructor(private readonly groups: ClusterGroupsService) {}

  @Access('admin')
  @Post()
  @ApiOperation({ summary: 'Create a cluster group from a label selector' })
  @ApiBody({ schema: openApiSchema(CreateClusterGroupBody) })
  create(@Body() body: unknown) {
    const input = parseBody(CreateClusterGroupBody, body);
    return this.groups.create(input.name, input.selector);
  }

  @Access('viewer')
  @Get()
  @ApiOperation({ summary: 'List cluster groups with their member counts' })
  list(@Query('limit') limit?: string, @Query('continue') continueToken?: string) {
    return this.groups.list(parsePageRequest(limit, continueToken));
  }

  @Access('viewer')
  @Get(':name')
  @ApiOperation({ summary: 'A group with its current members and their summary' })
  get(@Param('name') name: string) {
    return this.groups.get(name);
  }

  @Access('admin')
  @Put(':name')
  @ApiOperation({ summary: "Replace a group's selector" })
  @ApiBody({ schema: openApiSchema(ReplaceClusterGroupBody) })
  replace(@Param('name') name: string, @Body() body: unknown) {
    const input = parseBody(ReplaceClusterGroupBody, body);
    if (input.name !== undefined && input.name !== name) {
      throw new InvalidInputError(
        `name in the body ("${input.name}") differs from the path ("${name}")`,
      );
    }
    return this.groups.replace(name, input.selector);
  }

  @Access('admin')
  @Delete(':name')
  @HttpCode(204)
  async delete(@Param('name') name: string): Promise<void> {
    await this.groups.delete(name);
  }
}
