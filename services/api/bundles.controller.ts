import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  ApiBadRequestResponse,
} from '@nestjs/swagger';
import { BundleRepository, DeploymentRepository, parsePageRequest } from '../../libs/db/index.js';
import { BundlesService } from './bundles.service.js';
import { deploymentView, summarize, summaryOf } from './fleet-summary.js';
import { Access } from '../shared/access.decorator.js';

/** `/api/v1/bundles`: what the resolver found in Git, and where it is deployed. */
@ApiTags('bundles')
@Access('viewer')
@Controller('api/v1/bundles')
export class BundlesController {
  constructor(
    private readonly bundles: BundleRepository,
    private readonly deployments: DeploymentRepository,
    private readonly service: BundlesService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List bundles' })
  @ApiQuery({ name: 'gitrepo', required: false })
  async list(
    @Query('gitrepo') gitrepo?: string,
    @Query('limit') limit?: string,
    @Query('continue') token?: string,
  ) {
    const page = await this.bundles.list(parsePageRequest(limit, token), gitrepo || undefined);
    const counts = await this.deployments.countByBundleAndState(page.items.map((b) => b.name));
    return {
      ...page,
      items: page.items.map((b) => ({
        name: b.name,
        gitrepo: b.gitrepo,
        kind: b.kind,
        commit: b.commit,
        error: b.error,
        summary: summaryOf(counts.get(b.name) ?? {}),
      })),
    };
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
  async get(@Param('name') name: string) {
    const b = await this.bundles.get(name);
    // The view shows no deployment's resources: they stay in PostgreSQL.
    const rows = await this.deployments.list({ bundles: [name], resources: false });
    const deployments = rows.map(deploymentView);
    const s = summarize(rows);
    return {
      name: b.name,
      gitrepo: b.gitrepo,
      dir: b.dir,
      kind: b.kind,
      commit: b.commit,
      error: b.error,
      errorCommit: b.errorCommit,
      options: b.options,
      dependsOn: b.dependsOn,
      rolloutStrategy: b.rolloutStrategy,
      // Charts fetched from repositories and registries: the exact versions deployed.
      charts: b.charts,
      // What Git asks for and what clusters were told (they differ while a rollout runs).
      revisions: [
        ...new Set(
          rows
            .flatMap((r) => [r.targetRevision, r.desiredRevision])
            .filter((r): r is string => r !== null),
        ),
      ].sort(),
      summary: { desired: s.total, ready: s.byState.Ready ?? 0, byState: s.byState },
      variants: await this.service.variants(b.name, b.commit),
      deployments: deployments.map((d) => ({
        cluster: d.cluster,
        state: d.state,
        message: d.message,
        commit: d.commit,
        desiredRevision: d.desiredRevision,
        appliedRevision: d.appliedRevision,
        reportedAt: d.reportedAt,
      })),
    };
  }
}
