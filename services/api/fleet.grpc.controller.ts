import type { Metadata } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { type Observable, map } from 'rxjs';
import { parsePageRequest } from '../../libs/db/index.js';
import { ClusterGroupsService } from './cluster-groups.service.js';
import { ClustersService } from './clusters.service.js';
import {
  type FleetStatus,
  type FleetStatusChange,
  FleetStatusService,
} from './fleet-status.service.js';
import { type RolloutView, RolloutsService } from './rollouts.service.js';
import { Access } from '../shared/access.decorator.js';
import { grpcCallerName } from './auth/auth.guard.js';
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
  ) {}

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
