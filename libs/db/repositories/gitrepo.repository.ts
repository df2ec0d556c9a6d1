import type { DataSource } from 'typeorm';
import { GitRepoEntity } from '../entities/gitrepo.entity.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';

/** The fields of a GitRepo a user sets. */
export type GitRepoSpec = Pick<
  GitRepoEntity,
  | 'url'
  | 'branch'
  | 'revision'
  | 'paths'
  | 'pollingIntervalMs'
  | 'targets'
  | 'credentials'
  | 'webhookSecret'
>;

/** Git sources and their sync status. */
export class GitRepoRepository {
  constructor(private readonly ds: DataSource) {}

  private get repo() {
    return this.ds.getRepository(GitRepoEntity);
  }

  async create(name: string, spec: GitRepoSpec): Promise<GitRepoEntity> {
    try {
      await this.ds.query(
        `INSERT INTO gitrepos (name, url, branch, revision, paths, polling_interval_ms, targets, credentials, webhook_secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [name, ...specParams(spec)],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`gitrepo "${name}" already exists`);
      throw err;
    }
    return this.get(name);
  }

  async get(name: string): Promise<GitRepoEntity> {
    const found = await this.repo.findOneBy({ name });
    if (!found) throw new NotFoundError(`gitrepo "${name}" not found`);
    return found;
  }

  async list(page: PageRequest): Promise<Page<GitRepoEntity>> {
    const qb = this.repo
      .createQueryBuilder('g')
      .orderBy('g.name', 'ASC')
      .limit(page.limit + 1);
    if (page.after !== undefined) qb.where('g.name > :after', { after: page.after });
    return toPage(await qb.getMany(), page.limit, (g) => g.name);
  }

  /** Every GitRepo (the resolver schedules them all). */
  async all(): Promise<GitRepoEntity[]> {
    return this.repo.find({ order: { name: 'ASC' } });
  }

  /** Replaces the spec and bumps the generation, so the next sync re-resolves. */
  async replace(name: string, spec: GitRepoSpec): Promise<GitRepoEntity> {
    const [, affected] = await this.ds.query<[unknown, number]>(
      `UPDATE gitrepos SET url = $2, branch = $3, revision = $4, paths = $5, polling_interval_ms = $6,
              targets = $7, credentials = $8, webhook_secret = $9, generation = generation + 1, updated_at = now()
        WHERE name = $1`,
      [name, ...specParams(spec)],
    );
    if (!affected) throw new NotFoundError(`gitrepo "${name}" not found`);
    return this.get(name);
  }

  async delete(name: string): Promise<void> {
    const result = await this.repo.delete({ name });
    if (!result.affected) throw new NotFoundError(`gitrepo "${name}" not found`);
  }

  /** Records a successful sync at `commit` of spec `generation`. */
  async recordSynced(name: string, commit: string, generation: number): Promise<void> {
    await this.repo.update(
      { name },
      { commit, syncedGeneration: generation, lastSyncedAt: new Date(), error: null },
    );
  }

  /** Records a failed sync; the last good commit stays. */
  async recordError(name: string, error: string): Promise<void> {
    await this.repo.update({ name }, { error, lastSyncedAt: new Date() });
  }
}

function specParams(spec: GitRepoSpec): unknown[] {
  return [
    spec.url,
    spec.branch,
    spec.revision,
    JSON.stringify(spec.paths),
    spec.pollingIntervalMs,
    JSON.stringify(spec.targets),
    spec.credentials === null ? null : JSON.stringify(spec.credentials),
    spec.webhookSecret,
  ];
}
