import { Injectable } from '@nestjs/common';
import {
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
  ) {}

  async create(
    name: string,
    selector: unknown,
  ): Promise<GroupView & { clusters: string[]; summary: ClusterCounts }> {
    const nameError = validateClusterName(name);
    if (nameError) throw new InvalidInputError(`name "${name}": ${nameError}`);
    const reqs = readSelector(selector);
    await this.groups.create(name, toLabelSelector(reqs));
    return this.get(name);
  }

  async replace(
    name: string,
    selector: unknown,
  ): Promise<GroupView & { clusters: string[]; summary: ClusterCounts }> {
    await this.groups.replaceSelector(name, toLabelSelector(readSelector(selector)));
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
    const group = await this.groups.get(name);
    const reqs = selectorFromObject(group.selector);
    const [clusters, counts] = await Promise.all([
      this.clusters.names(reqs),
      this.clusters.countByState(reqs),
    ]);
    return { ...groupView(group, formatSelector(reqs)), clusters, summary: countsView(counts) };
  }

  async delete(name: string): Promise<void> {
    await this.groups.delete(name);
  }
}
