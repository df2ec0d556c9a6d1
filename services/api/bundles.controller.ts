import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  ApiBadRequestResponse,
} from '@nestjs/swagger';
import { parsePageRequest } from '../../libs/db/index.js';
import { BundlesService } from './bundles.service.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/bundles`: what the resolver found in Git, and where it is deployed. */
@ApiTags('bundles')
@Access('viewer')
@Controller('api/v1/bundles')
export class BundlesController {
  constructor(private readonly service: BundlesService) {}

  @Get()
  @ApiOperation({ summary: 'List bundles' })
  @ApiQuery({ name: 'gitrepo', required: false })
  list(
    @Query('gitrepo') gitrepo?: string,
    @Query('limit') limit?: string,
    @Query('continue') token?: string,
  ) {
    return this.service.list(parsePageRequest(limit, token), gitrepo || undefined);
  }

  @Get(':name/manifests')
  @ApiOperation({
    summary: 'The rendered objects a cluster gets of a bundle, or a variant renders',
    description:
      "Exactly one of `cluster` and `variant`. By cluster: the revision Git asks that cluster to run (while a rollout holds it back, `desiredRevision` is what it is told now). By variant: a key from the bundle's `variants`, at the bundle's commit. The bundle name is URL-encoded (demo%2Fweb).",
  })
  @ApiQuery({ name: 'cluster', required: false, description: 'a cluster name' })
  @ApiQuery({ name: 'variant', required: false, description: "a key of the bundle's variants" })
  @ApiOkResponse({ description: '{bundle, cluster | variant, commit, revision, objects: [...]}' })
  @ApiBadRequestResponse({ description: 'neither or both of cluster and variant' })
  @ApiNotFoundResponse({
    description: 'no such bundle, cluster or variant, or the bundle is not deployed there',
  })
  manifests(
    @Param('name') name: string,
    @Query('cluster') cluster?: string,
    @Query('variant') variant?: string,
  ) {
    return this.service.manifests(name, { cluster, variant });
  }

  @Get(':name')
  @ApiOperation({
    summary:
      'A bundle with its revisions and per-cluster deployments (name URL-encoded: demo%2Fweb)',
  })
  get(@Param('name') name: string) {
    return this.service.get(name);
  }
}
