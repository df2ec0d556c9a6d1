import type { DataSource } from 'typeorm';
import type { LabelSelector } from '../../selectors/index.js';
import { ClusterGroupEntity } from '../entities/cluster-group.entity.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';

/** Cluster groups: a name and a label selector. */
export class ClusterGroupRepository {
  constructor(private readonly ds: DataSource) {}

  private get repo() {
    return this.ds.getRepository(ClusterGroupEntity);
  }

  /** Creates a group; ConflictError when the name is taken. */
  async create(name: string, selector: LabelSelector): Promise<ClusterGroupEntity> {
    try {
      await this.repo.insert({ name, selector });
      return await this.get(name);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`cluster group "${name}" already exists`);
      throw err;
    }
  }

  /** The named group, or NotFoundError. */
  async get(name: string): Promise<ClusterGroupEntity> {
    const found = await this.repo.findOneBy({ name });
    if (!found) throw new NotFoundError(`cluster group "${name}" not found`);
    return found;
  }

  /** Groups ordered by name, one page at a time. */
  async list(page: PageRequest): Promise<Page<ClusterGroupEntity>> {
    const qb = this.repo
      .createQueryBuilder('g')
      .orderBy('g.name', 'ASC')
      .limit(page.limit + 1);
    if (page.after !== undefined) qb.where('g.name > :after', { after: page.after });
    return toPage(await qb.getMany(), page.limit, (g) => g.name);
  }

  /** Replaces a group's selector. */
  async replaceSelector(name: string, selector: LabelSelector): Promise<ClusterGroupEntity> {
    const result = await this.repo.update({ name }, { selector });
    if (!result.affected) throw new NotFoundError(`cluster group "${name}" not found`);
    return this.get(name);
  }

  /** Deletes a group (its clusters stay). */
  async delete(name: string): Promise<void> {
    const result = await this.repo.delete({ name });
    if (!result.affected) throw new NotFoundError(`cluster group "${name}" not found`);
  }
}
