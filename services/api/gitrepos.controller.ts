import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { parsePageRequest } from '../../libs/db/index.js';
import { GitRepoBody, openApiSchema, parseBody } from './dto.js';
import { GitReposService } from './gitrepos.service.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/gitrepos`: Git sources of bundles. */
@ApiTags('gitrepos')
@Controller('api/v1/gitrepos')
export class GitReposController {
  constructor(private readonly repos: GitReposService) {}

  @Access('admin')
  @Post()
  @ApiOperation({ summary: 'Register a Git repository of bundles' })
  @ApiBody({ schema: openApiSchema(GitRepoBody) })
  create(@Body() body: unknown) {
    return this.repos.create(parseBody(GitRepoBody, body));
  }

  @Access('viewer')
  @Get()
  @ApiOperation({ summary: 'List GitRepos with their sync status' })
  list(@Query('limit') limit?: string, @Query('continue') continueToken?: string) {
    return this.repos.list(parsePageRequest(limit, continueToken));
  }

  @Access('viewer')
  @Get(':name')
  @ApiOperation({ summary: 'A GitRepo with its commit, error, bundles and deployment summary' })
  get(@Param('name') name: string) {
    return this.repos.get(name);
  }

  @Access('admin')
  @Put(':name')
  @ApiOperation({ summary: "Replace a GitRepo's spec" })
  @ApiBody({ schema: openApiSchema(GitRepoBody) })
  replace(@Param('name') name: string, @Body() body: unknown) {
    return this.repos.replace(name, parseBody(GitRepoBody, body));
  }

  @Access('admin')
  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a GitRepo; its bundles are removed from every cluster' })
  async delete(@Param('name') name: string): Promise<void> {
    await this.repos.delete(name);
  }

  @Access('operator')
  @Post(':name/sync')
  @HttpCode(202)
  @ApiOperation({ summary: 'Sync now (fetch, resolve, deliver)' })
  sync(@Param('name') name: string) {
    return this.repos.sync(name);
  }
}
