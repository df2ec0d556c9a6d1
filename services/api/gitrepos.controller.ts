import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { parsePageRequest } from '../../libs/db/index.js';
import {
  GitRepoBody,
  PatchGitRepoBody,
  PlanBody,
  ValuesSourceBody,
  openApiSchema,
  parseBody,
} from './dto.js';
import { GitReposService } from './gitrepos.service.js';
import { PlansService } from './plans.service.js';
import type { Role } from '../../libs/auth/index.js';
import { Access } from '../shared/access.decorator.js';
import { CallerRole } from './auth/auth.guard.js';

/** `/api/v1/gitrepos`: Git sources of bundles. */
@ApiTags('gitrepos')
@Controller('api/v1/gitrepos')
export class GitReposController {
  constructor(
    private readonly repos: GitReposService,
    private readonly plans: PlansService,
  ) {}

  @Access('operator')
  @Post(':name/plan')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Plan a commit: what it would change on which clusters; deploys nothing',
    description:
      "Renders `revision`, the head of `branch`, or (neither) the head of the GitRepo's own branch exactly as a sync would, and compares each variant with what its clusters are told to run now. The plan is stored (`GET /api/v1/plans/{id}`). Nothing is stored as desired, nothing is sent to agents.",
  })
  @ApiBody({ schema: openApiSchema(PlanBody) })
  @ApiBadRequestResponse({ description: 'a bad revision or branch, or both given' })
  @ApiNotFoundResponse({ description: 'no such GitRepo, branch or commit' })
  plan(@Param('name') name: string, @Body() body: unknown) {
    return this.plans.create(name, parseBody(PlanBody, body ?? {}));
  }

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

  @Access('operator')
  @Patch(':name')
  @ApiOperation({
    summary: 'Change some fields of a GitRepo (branch, paths, targets, ...); the others stay',
    description:
      'Operators may change branch, revision, paths, pollingInterval and targets; url, auth and webhookSecret need the admin role. The merged spec is checked as on create. `null` clears `revision`, `auth` or `webhookSecret`. With `generation` (from a GET), the change applies only if the GitRepo is still at that generation.',
  })
  @ApiBody({ schema: openApiSchema(PatchGitRepoBody) })
  @ApiBadRequestResponse({ description: 'an invalid field, or a name that differs from the path' })
  @ApiNotFoundResponse({ description: 'no such GitRepo' })
  @ApiConflictResponse({ description: '`generation` given and the GitRepo changed since' })
  @ApiForbiddenResponse({
    description: 'url, auth or webhookSecret changed without the admin role',
  })
  patch(@Param('name') name: string, @Body() body: unknown, @CallerRole() role?: Role) {
    return this.repos.patch(name, parseBody(PatchGitRepoBody, body), role);
  }

  @Access('admin')
  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a GitRepo; its bundles are removed from every cluster' })
  async delete(@Param('name') name: string): Promise<void> {
    await this.repos.delete(name);
  }

  @Access('viewer')
  @Get(':name/values')
  @ApiOperation({
    summary:
      "The GitRepo's values sources for fleet.yaml helm.valuesFrom: kind, namespace, name and keys, never the data",
  })
  @ApiNotFoundResponse({ description: 'no such GitRepo' })
  listValues(@Param('name') name: string) {
    return this.repos.listValues(name);
  }

  @Access('operator')
  @Put(':name/values/:kind/:namespace/:source')
  @ApiOperation({
    summary: 'Set a values source (the data of a Secret or ConfigMap helm.valuesFrom refers to)',
    description:
      "`kind` is `secrets` (for secretKeyRef; needs the admin role) or `configmaps` (configMapKeyRef). `data` maps keys to YAML text, as the object's data would. Stored encrypted; the GitRepo syncs, and bundles using it render anew (a changed value is a new revision). Only the keys are ever shown again.",
  })
  @ApiBody({ schema: openApiSchema(ValuesSourceBody) })
  @ApiBadRequestResponse({
    description: 'an unknown kind, a bad namespace, name or key, or data over 1 MiB',
  })
  @ApiNotFoundResponse({ description: 'no such GitRepo' })
  @ApiForbiddenResponse({ description: 'a Secret values source without the admin role' })
  putValues(
    @Param('name') name: string,
    @Param('kind') kind: string,
    @Param('namespace') namespace: string,
    @Param('source') source: string,
    @Body() body: unknown,
    @CallerRole() role?: Role,
  ) {
    return this.repos.putValues(
      name,
      { kind, namespace, name: source },
      parseBody(ValuesSourceBody, body),
      role,
    );
  }

  @Access('operator')
  @Delete(':name/values/:kind/:namespace/:source')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a values source; bundles still referring to it fail with a clear error',
  })
  @ApiNotFoundResponse({ description: 'no such GitRepo or values source' })
  @ApiForbiddenResponse({ description: 'a Secret values source without the admin role' })
  async deleteValues(
    @Param('name') name: string,
    @Param('kind') kind: string,
    @Param('namespace') namespace: string,
    @Param('source') source: string,
    @CallerRole() role?: Role,
  ): Promise<void> {
    await this.repos.deleteValues(name, { kind, namespace, name: source }, role);
  }

  @Access('operator')
  @Post(':name/sync')
  @HttpCode(202)
  @ApiOperation({ summary: 'Sync now (fetch, resolve, deliver)' })
  sync(@Param('name') name: string) {
    return this.repos.sync(name);
  }
}
