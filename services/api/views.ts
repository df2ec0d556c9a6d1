import type {
  ClusterEntity,
  ClusterGroupEntity,
  RegistrationTokenEntity,
} from '../../libs/db/index.js';
import type { LabelSelector } from '../../libs/selectors/index.js';

import type { ClusterCounts, ClusterView } from '../../libs/contracts/api-views.js';

export type { ClusterCounts, ClusterView };

export function clusterView(c: ClusterEntity): ClusterView {
  return {
    name: c.name,
    labels: c.labels,
    state: c.state,
    lastSeen: c.lastSeen?.toISOString() ?? null,
    agentVersion: c.agentVersion,
    kubernetesVersion: c.kubernetesVersion,
    createdAt: c.createdAt.toISOString(),
  };
}

export function groupView(g: ClusterGroupEntity, selectorText: string) {
  return {
    name: g.name,
    selector: g.selector as LabelSelector,
    selectorText,
    createdAt: g.createdAt.toISOString(),
  };
}

export function registrationTokenView(t: RegistrationTokenEntity) {
  return {
    id: t.id,
    description: t.description,
    labels: t.labels,
    maxUses: t.maxUses,
    uses: t.uses,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
  };
}

export function countsView(byState: Record<string, number>): ClusterCounts {
  const online = byState.Online ?? 0;
  const offline = byState.Offline ?? 0;
  const pending = byState.Pending ?? 0;
  return { total: online + offline + pending, online, offline, pending };
}
