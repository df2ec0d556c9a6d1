import type { Metadata } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { type Observable, map } from 'rxjs';
import { InvalidInputError, parsePageRequest } from '../../libs/db/index.js';
import { formatSelector, selectorFromObject } from '../../libs/selectors/index.js';
import { BundlesService } from './bundles.service.js';
import { ClusterGroupsService } from './cluster-groups.service.js';
import { ClustersService } from './clusters.service.js';
import {
  type FleetStatus,
  type FleetStatusChange,
  FleetStatusService,
} from './fleet-status.service.js';
import { PatchGitRepoBody, PlanBody } from './dto.js';
import { GitReposService } from './gitrepos.service.js';
import { type PlanView, PlansService } from './plans.service.js';
import { type RolloutView, RolloutsService } from './rollouts.service.js';
import { Access } from '../shared/access.decorator.js';
import { grpcCallerName, grpcCallerRole } from './auth/auth.guard.js';
import { actorName } from './rollouts.controller.js';
import type { ClusterView } from './views.js';

/** proto Rollout: null strings become empty. */
function protoRollout(r: RolloutView) {
  return {
    ...r,
    fromCommit: r.fromCommit ?? '',
    reason: r.reason ?? '',
    finishedAt: r.finishedAt ?? '',
    stages: r.stages.map((s) => ({
      ...s,
      startedAt: s.startedAt ?? '',
      bakedSince: s.bakedSince ?? '',
      clusters: s.clusters.map((c) => ({
        ...c,
        reason: c.reason ?? '',
        releasedAt: c.releasedAt ?? '',
        readySince: c.readySince ?? '',
      })),
    })),
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** proto Plan: counts flattened, the whole plan as JSON text. */
function protoPlan(p: PlanView) {
  const summary = p.summary as {
    bundles: Record<string, number>;
    objects: { added: number; changed: number; removed: number };
    clusters: number;
    stages: number;
    truncated: boolean;
    text: string;
  };
  const bundles = (p.bundles ?? []) as {
    name: string;
    change: string;
    error?: string;
    blastRadius: { clusters: number; objects: { added: number; changed: number; removed: number } };
  }[];
  return {
    id: p.id,
    gitrepo: p.gitrepo,
    commit: p.commit,
    branch: p.branch ?? '',
    revision: p.revision ?? '',
    trigger: p.trigger,
    createdAt: p.createdAt,
    summary: {
      bundlesUnchanged: summary.bundles.unchanged ?? 0,
      bundlesChanged: summary.bundles.changed ?? 0,
      bundlesAdded: summary.bundles.added ?? 0,
      bundlesRemoved: summary.bundles.removed ?? 0,
      bundlesWithErrors: summary.bundles.errors ?? 0,
      objects: summary.objects,
      clusters: summary.clusters,
      stages: summary.stages,
      truncated: summary.truncated,
      text: summary.text,
    },
    bundles: bundles.map((b) => ({
      name: b.name,
      change: b.change,
      error: b.error ?? '',
      clusters: b.blastRadius.clusters,
      objects: b.blastRadius.objects,
    })),
    problems: (p.problems ?? []) as string[],
    json: JSON.stringify(p),
  };
}

/** proto Cluster: timestamps as strings, empty when unset. */
function protoCluster(c: ClusterView) {
  return {
    name: c.name,
    labels: c.labels,
    state: c.state,
    lastSeen: c.lastSeen ?? '',
    agentVersion: c.agentVersion ?? '',
    kubernetesVersion: c.kubernetesVersion ?? '',
    createdAt: c.createdAt,
  };
}

/** proto UpdateGitRepoRequest, as the loader gives it (camelCase, defaults filled in). */
interface UpdateGitRepoRequest {
  name?: string;
  updateMask?: string[];
  url?: string;
  branch?: string;
  revision?: string;
  paths?: string[];
  pollingInterval?: string;
  targets?: { clusterSelector?: string; clusterGroup?: string; clusterName?: string }[];
  generation?: number;
}

const MASKABLE = ['url', 'branch', 'revision', 'paths', 'polling_interval', 'targets'] as const;

/** The PATCH body an UpdateGitRepo request stands for (see the proto for the mask rules). */
export function gitRepoPatch(req: UpdateGitRepoRequest): Parameters<GitReposService['patch']>[1] {
  const mask = req.updateMask ?? [];
  for (const field of mask) {
    if (!(MASKABLE as readonly string[]).includes(field)) {
      throw new InvalidInputError(
        `update_mask: unknown field "${field}" (use ${MASKABLE.join(', ')})`,
      );
    }
  }
  const change = (field: (typeof MASKABLE)[number], empty: boolean): boolean =>
    mask.length > 0 ? mask.includes(field) : !empty;
  const targets = (req.targets ?? []).map((t) => {
    const given = Object.entries(t).filter(([, v]) => typeof v === 'string' && v !== '');
    return Object.fromEntries(given);
  });
  const body: Parameters<GitReposService['patch']>[1] = {};
  if (change('url', !req.url)) body.url = req.url ?? '';
  if (change('branch', !req.branch)) {
    if (!req.branch) throw new InvalidInputError('branch cannot be cleared; give a branch name');
    body.branch = req.branch;
  }
  if (change('revision', !req.revision)) body.revision = req.revision || null;
  if (change('paths', (req.paths ?? []).length === 0)) body.paths = req.paths ?? [];
  if (change('polling_interval', !req.pollingInterval)) {
    body.pollingInterval = req.pollingInterval ?? '';
  }
  if (change('targets', targets.length === 0)) body.targets = targets;
  if (req.generation) body.generation = req.generation;
  return PatchGitRepoBody.parse(body);
}

/** proto GitRepo from the REST view: selectors in string syntax, nulls as empty strings. */
function protoGitRepo(r: Awaited<ReturnType<GitReposService['get']>>) {
  return {
    name: r.name,
    url: r.url,
    branch: r.branch ?? '',
    revision: r.revision ?? '',
    paths: r.paths,
    pollingInterval: r.pollingInterval,
    targets: r.targets.map((t) => ({
      clusterSelector:
        t.clusterSelector !== undefined
          ? formatSelector(selectorFromObject(t.clusterSelector))
          : '',
      clusterGroup: t.clusterGroup ?? '',
      clusterName: t.clusterName ?? '',
    })),
    generation: r.generation,
    status: {
      commit: r.status.commit ?? '',
      lastSyncedAt: r.status.lastSyncedAt ?? '',
      lastChangedAt: r.status.lastChangedAt ?? '',
      error: r.status.error ?? '',
      bundles: r.status.bundles,
      bundleErrors: r.status.bundleErrors.map((e) => ({
        bundle: e.bundle,
        commit: e.commit ?? '',
        message: e.message ?? '',
      })),
      warnings: r.status.warnings,
    },
  };
}

function page(limit: number | undefined, token: string | undefined) {
  return parsePageRequest(limit ? String(limit) : undefined, token || undefined);
}

/** `flotilla.v1.FleetService` (proto/flotilla/v1/fleet.proto), backed by the same services as REST. */
@Controller()
export class FleetGrpcController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly groups: ClusterGroupsService,
    private readonly fleet: FleetStatusService,
    private readonly rollouts: RolloutsService,
    private readonly bundles: BundlesService,
    private readonly gitrepos: GitReposService,
    private readonly plans: PlansService,
  ) {}

  @Access('operator')
  @GrpcMethod('FleetService', 'PlanGitRepo')
  async planGitRepo(req: { name?: string; revision?: string; branch?: string }) {
    const ref = PlanBody.parse({
      ...(req.revision ? { revision: req.revision } : {}),
      ...(req.branch ? { branch: req.branch } : {}),
    });
    return protoPlan(await this.plans.create(req.name ?? '', ref));
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'GetClusterDrift')
  async getClusterDrift(req: { cluster?: string; bundle?: string }) {
    const cluster = await this.clusters.get(req.cluster ?? '');
    const objects = cluster.deployments
      .filter((d) => !req.bundle || d.bundle === req.bundle)
      .flatMap((d) =>
        (d.resources as Record<string, unknown>[])
          .filter((r) => r.state === 'Modified')
          .map((r) => ({
            bundle: d.bundle,
            apiVersion: text(r.apiVersion),
            kind: text(r.kind),
            namespace: text(r.namespace),
            name: text(r.name),
            message: text(r.message),
            fields: (Array.isArray(r.drift) ? (r.drift as Record<string, unknown>[]) : []).map(
              (f) => ({
                path: text(f.path),
                desired: text(f.desired),
                live: text(f.live),
                liveMissing: typeof f.live !== 'string',
              }),
            ),
          })),
      );
    return { cluster: cluster.name, objects };
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'GetPlan')
  async getPlan(req: { id?: string }) {
    return protoPlan(await this.plans.get(req.id ?? ''));
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'GetBundleManifests')
  async getBundleManifests(req: { bundle?: string; cluster?: string; variant?: string }) {
    const m = await this.bundles.manifests(req.bundle ?? '', {
      cluster: req.cluster || undefined,
      variant: req.variant || undefined,
    });
    return {
      bundle: m.bundle,
      cluster: m.cluster ?? '',
      variant: m.variant ?? '',
      commit: m.commit ?? '',
      revision: m.revision,
      desiredRevision: m.desiredRevision ?? '',
      appliedRevision: m.appliedRevision ?? '',
      clusters: m.clusters ?? [],
      objects: m.objects.map((o) => JSON.stringify(o)),
    };
  }

  @Access('operator')
  @GrpcMethod('FleetService', 'UpdateGitRepo')
  async updateGitRepo(req: UpdateGitRepoRequest, metadata?: Metadata) {
    return protoGitRepo(
      await this.gitrepos.patch(req.name ?? '', gitRepoPatch(req), grpcCallerRole(metadata)),
    );
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'ListRollouts')
  async listRollouts(req: {
    bundle?: string;
    state?: string;
    limit?: number;
    continueToken?: string;
  }) {
    const result = await this.rollouts.list(
      { bundle: req.bundle || undefined, state: req.state || undefined },
      page(req.limit, req.continueToken),
    );
    return { items: result.items.map(protoRollout), continueToken: result.continue ?? '' };
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'GetRollout')
  async getRollout(req: { id: string }) {
    return protoRollout(await this.rollouts.get(req.id));
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'WatchRollout')
  watchRollout(req: { id: string }): Observable<unknown> {
    return this.rollouts.watch(req.id).pipe(map(protoRollout));
  }

  @Access('operator')
  @GrpcMethod('FleetService', 'PauseRollout')
  async pauseRollout(req: { id: string; reason?: string }, metadata?: Metadata) {
    return protoRollout(
      await this.rollouts.act(
        req.id,
        'pause',
        actorName('grpc', grpcCallerName(metadata)),
        req.reason || undefined,
      ),
    );
  }

  @Access('operator')
  @GrpcMethod('FleetService', 'ResumeRollout')
  async resumeRollout(req: { id: string; reason?: string }, metadata?: Metadata) {
    return protoRollout(
      await this.rollouts.act(
        req.id,
        'resume',
        actorName('grpc', grpcCallerName(metadata)),
        req.reason || undefined,
      ),
    );
  }

  @Access('operator')
  @GrpcMethod('FleetService', 'PromoteRollout')
  async promoteRollout(req: { id: string; reason?: string }, metadata?: Metadata) {
    return protoRollout(
      await this.rollouts.act(
        req.id,
        'promote',
        actorName('grpc', grpcCallerName(metadata)),
        req.reason || undefined,
      ),
    );
  }

  @Access('operator')
  @GrpcMethod('FleetService', 'AbortRollout')
  async abortRollout(req: { id: string; reason?: string }, metadata?: Metadata) {
    return protoRollout(
      await this.rollouts.act(
        req.id,
        'abort',
        actorName('grpc', grpcCallerName(metadata)),
        req.reason || undefined,
      ),
    );
  }

  @Access('operator')
  @GrpcMethod('FleetService', 'RollbackRollout')
  async rollbackRollout(req: { id: string; reason?: string }, metadata?: Metadata) {
    return protoRollout(
      await this.rollouts.act(
        req.id,
        'rollback',
        actorName('grpc', grpcCallerName(metadata)),
        req.reason || undefined,
      ),
    );
  }

  @Access('admin')
  @GrpcMethod('FleetService', 'RegisterCluster')
  async registerCluster(req: { name: string; labels?: Record<string, string> }) {
    const { cluster, token } = await this.clusters.register(req.name, req.labels ?? {});
    return { cluster: protoCluster(cluster), token };
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'ListClusters')
  async listClusters(req: { labelSelector?: string; limit?: number; continueToken?: string }) {
    const result = await this.clusters.list(
      req.labelSelector || undefined,
      page(req.limit, req.continueToken),
    );
    return { items: result.items.map(protoCluster), continueToken: result.continue ?? '' };
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'GetCluster')
  async getCluster(req: { name: string }) {
    return protoCluster(await this.clusters.get(req.name));
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'ListClusterGroups')
  async listClusterGroups(req: { limit?: number; continueToken?: string }) {
    const result = await this.groups.listWithMembers(page(req.limit, req.continueToken));
    return {
      items: result.items.map((g) => ({
        name: g.name,
        selector: {
          matchLabels: g.selector.matchLabels ?? {},
          matchExpressions: g.selector.matchExpressions ?? [],
        },
        selectorText: g.selectorText,
        clusters: g.clusters,
        summary: g.summary,
        createdAt: g.createdAt,
      })),
      continueToken: result.continue ?? '',
    };
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'GetFleetStatus')
  getFleetStatus(): Promise<FleetStatus> {
    return this.fleet.status();
  }

  @Access('viewer')
  @GrpcMethod('FleetService', 'WatchFleetStatus')
  watchFleetStatus(): Observable<unknown> {
    return this.fleet.watch().pipe(
      map((c: FleetStatusChange) => ({
        type: c.type,
        cluster: c.cluster
          ? {
              name: c.cluster.name,
              labels: c.cluster.labels,
              state: c.cluster.state,
              lastSeen: c.cluster.lastSeen ?? '',
            }
          : undefined,
        previousState: c.previousState ?? '',
        deployment: c.deployment ?? undefined,
        status: c.status,
        at: c.at,
      })),
    );
  }
}
