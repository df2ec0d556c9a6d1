import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { type GroupEvent, GroupEventType, type Subjects } from '../../libs/contracts/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import {
  type ClusterGroupEntity,
  ClusterGroupRepository,
  ClusterRepository,
  InvalidInputError,
  type Page,
  type PageRequest,
} from '../../libs/db/index.js';
import {
  type Requirement,
  formatSelector,
  parseSelector,
  selectorFromObject,
  toLabelSelector,
  validateClusterName,
} from '../../libs/selectors/index.js';
import { type ClusterCounts, countsView, groupView } from './views.js';

/** Reads a selector given as a Kubernetes selector string or as a LabelSelector object. */
export function readSelector(input: unknown): Requirement[] {
  if (typeof input === 'string') return parseSelector(input);
  return selectorFromObject(input);
}

type GroupView = ReturnType<typeof groupView>;

/** Cluster groups: named label selectors whose members follow label changes. */
@Injectable()
export class ClusterGroupsService {
  constructor(
    private readonly groups: ClusterGroupRepository,
    private readonly clusters: ClusterRepository,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
  ) {}

  /** Group membership decides targeting: the resolver re-targets on these. */
  private announce(name: string, type: GroupEvent['type']): void {
    const event: GroupEvent = { type, group: name, at: new Date().toISOString() };
    publishJson(this.nc, this.subjects.event('group', name), event);
  }

  async create(
    name: string,
    selector: unknown,
  ): Promise<GroupView & { clusters: string[]; summary: ClusterCounts }> {
    const nameError = validateClusterName(name);
    if (nameError) throw new InvalidInputError(`name "${name}": ${nameError}`);
    const reqs = readSelector(selector);
    await this.groups.create(name, toLabelSelector(reqs));
    this.announce(name, GroupEventType.Changed);
    return this.get(name);
  }

  async replace(
    name: string,
    selector: unknown,
  ): Promise<GroupView & { clusters: string[]; summary: ClusterCounts }> {
    await this.groups.replaceSelector(name, toLabelSelector(readSelector(selector)));
    this.announce(name, GroupEventType.Changed);
    return this.get(name);
  }

  async list(page: PageRequest): Promise<Page<GroupView & { clusterCount: number }>> {
    const result = await this.groups.list(page);
    const items = await Promise.all(
      result.items.map(async (g) => {
        const reqs = selectorFromObject(g.selector);
        const counts = countsView(await this.clusters.countByState(reqs));
        return { ...groupView(g, formatSelector(reqs)), clusterCount: counts.total };
      }),
    );
    return { ...result, items };
  }

  /** The group with its current members and their connection summary. */
  async get(name: string): Promise<GroupView & { clusters: string[]; summary: ClusterCounts }> {
    return this.detail(await this.groups.get(name));
  }

  /** A page of groups, each with its members and summary (gRPC ListClusterGroups). */
  async listWithMembers(
    page: PageRequest,
  ): Promise<Page<GroupView & { clusters: string[]; summary: ClusterCounts }>> {
    const result = await this.groups.list(page);
    return { ...result, items: await Promise.all(result.items.map((g) => this.detail(g))) };
  }

  private async detail(
    group: ClusterGroupEntity,
  ): Promise<GroupView & { clusters: string[]; summary: ClusterCounts }> {
    const reqs = selectorFromObject(group.selector);
    const [clusters, counts] = await Promise.all([
      this.clusters.names(reqs),
      this.clusters.countByState(reqs),
    ]);
    return { ...groupView(group, formatSelector(reqs)), clusters, summary: countsView(counts) };
  }

  async delete(name: string): Promise<void> {
    await this.groups.delete(name);
    this.announce(name, GroupEventType.Deleted);
  }
}
