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
import type { ClusterView } from './views.js';

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
  ) {}

  @GrpcMethod('FleetService', 'RegisterCluster')
  async registerCluster(req: { name: string; labels?: Record<string, string> }) {
    const { cluster, token } = await this.clusters.register(req.name, req.labels ?? {});
    return { cluster: protoCluster(cluster), token };
  }

  @GrpcMethod('FleetService', 'ListClusters')
  async listClusters(req: { labelSelector?: string; limit?: number; continueToken?: string }) {
    const result = await this.clusters.list(
      req.labelSelector || undefined,
      page(req.limit, req.continueToken),
    );
    return { items: result.items.map(protoCluster), continueToken: result.continue ?? '' };
  }

  @GrpcMethod('FleetService', 'GetCluster')
  async getCluster(req: { name: string }) {
    return protoCluster(await this.clusters.get(req.name));
  }

  @GrpcMethod('FleetService', 'ListClusterGroups')
  async listClusterGroups(req: { limit?: number; continueToken?: string }) {
    const result = await this.groups.list(page(req.limit, req.continueToken));
    const items = await Promise.all(result.items.map((g) => this.groups.get(g.name)));
    return {
      items: items.map((g) => ({
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

  @GrpcMethod('FleetService', 'GetFleetStatus')
  getFleetStatus(): Promise<FleetStatus> {
    return this.fleet.status();
  }

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
