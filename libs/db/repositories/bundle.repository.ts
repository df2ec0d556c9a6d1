import { In, type DataSource } from 'typeorm';
import { z } from 'zod';
import { type RolloutStrategy, RolloutStrategySchema } from '../../bundles/fleet-yaml.js';
import { BundleEntity } from '../entities/bundle.entity.js';
import { BundleRevisionEntity } from '../entities/bundle-revision.entity.js';
import { VariantRenderEntity } from '../entities/variant-render.entity.js';
import { NotFoundError } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';

/**
 * A bundle as read from PostgreSQL: its rolloutStrategy parsed with `RolloutStrategySchema`
 * (libs/bundles), which gives a stored (already parsed) strategy back unchanged.
 */
export type Bundle = Omit<BundleEntity, 'rolloutStrategy'> & {
  rolloutStrategy: RolloutStrategy | null;
};

/** A stored row as a {@link Bundle}; a strategy that does not match the schema is an error, never cast. */
function toBundle(row: BundleEntity): Bundle {
  if (row.rolloutStrategy === null) return { ...row, rolloutStrategy: null };
  const parsed = RolloutStrategySchema.safeParse(row.rolloutStrategy);
  if (!parsed.success) {
    throw new Error(
      `bundle ${row.name}: the stored rolloutStrategy does not match its schema: ${z.prettifyError(parsed.error)}`,
    );
  }
  return { ...row, rolloutStrategy: parsed.data };
}

/** Bundles, their content-addressed revisions, and the memo of variant renders. */
export class BundleRepository {
  constructor(private readonly ds: DataSource) {}

  private get repo() {
    return this.ds.getRepository(BundleEntity);
  }

  async get(name: string): Promise<Bundle> {
    const found = await this.repo.findOneBy({ name });
    if (!found) throw new NotFoundError(`bundle "${name}" not found`);
    return toBundle(found);
  }

  async list(page: PageRequest, gitrepo?: string): Promise<Page<Bundle>> {
    const qb = this.repo
      .createQueryBuilder('b')
      .orderBy('b.name', 'ASC')
      .limit(page.limit + 1);
    if (gitrepo !== undefined) qb.andWhere('b.gitrepo = :gitrepo', { gitrepo });
    if (page.after !== undefined) qb.andWhere('b.name > :after', { after: page.after });
    return toPage((await qb.getMany()).map(toBundle), page.limit, (b) => b.name);
  }

  /** Bundles that depend on others, with their dependencies as full bundle names. */
  async dependents(): Promise<{ name: string; dependsOn: string[] }[]> {
    const rows = await this.repo.find({ select: { name: true, gitrepo: true, dependsOn: true } });
    return rows
      .filter((b) => b.dependsOn.length > 0)
      .map((b) => ({
        name: b.name,
        dependsOn: b.dependsOn.map((d) => qualifyBundleName(b.gitrepo, d.name)),
      }));
  }

  async ofRepo(gitrepo: string): Promise<Bundle[]> {
    return (await this.repo.find({ where: { gitrepo }, order: { name: 'ASC' } })).map(toBundle);
  }

  /** The bundles of each of `gitrepos` (one query for a page of GitRepos), by name. */
  async ofRepos(gitrepos: readonly string[]): Promise<Map<string, Bundle[]>> {
    const found = new Map<string, Bundle[]>(gitrepos.map((g) => [g, []]));
    if (gitrepos.length === 0) return found;
    const rows = await this.repo.find({
      where: { gitrepo: In([...gitrepos]) },
      order: { name: 'ASC' },
    });
    for (const row of rows) found.get(row.gitrepo)?.push(toBundle(row));
    return found;
  }

  /** Records the charts from repositories a bundle's last good revision was rendered from. */
  async recordCharts(name: string, charts: BundleEntity['charts']): Promise<void> {
    await this.ds.query('UPDATE bundles SET charts = $2 WHERE name = $1', [
      name,
      JSON.stringify(charts),
    ]);
  }

  /** Inserts or updates a bundle's record (its `charts`: see `recordCharts`). */
  async save(b: Omit<BundleEntity, 'updatedAt' | 'repo' | 'charts'>): Promise<void> {
    await this.ds.query(
      `INSERT INTO bundles (name, gitrepo, dir, kind, commit, options, rollout_strategy, depends_on, error, error_commit)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (name) DO UPDATE SET gitrepo = $2, dir = $3, kind = $4, commit = $5, options = $6,
         rollout_strategy = $7, depends_on = $8, error = $9, error_commit = $10, updated_at = now()`,
      [
        b.name,
        b.gitrepo,
        b.dir,
        b.kind,
        b.commit,
        JSON.stringify(b.options),
        b.rolloutStrategy === null ? null : JSON.stringify(b.rolloutStrategy),
        JSON.stringify(b.dependsOn),
        b.error,
        b.errorCommit,
      ],
    );
  }

  /**
   * Marks a bundle broken at `commit`; it keeps its last good commit (and what clusters run),
   * and takes the directory and kind it has now, so a failed render shows its real kind.
   */
  async recordError(
    name: string,
    gitrepo: string,
    dir: string,
    kind: string,
    error: string,
    commit: string,
  ): Promise<void> {
    await this.ds.query(
      `INSERT INTO bundles (name, gitrepo, dir, kind, error, error_commit) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET dir = $3, kind = $4, error = $5, error_commit = $6, updated_at = now()`,
      [name, gitrepo, dir, kind, error, commit],
    );
  }

  /** Deletes the named bundles (removed from Git). */
  async deleteMany(names: string[]): Promise<void> {
    if (names.length > 0) await this.repo.delete({ name: In(names) });
  }

  /** Stores rendered content once; identical renders share the row. */
  async storeRevision(id: string, content: Buffer): Promise<void> {
    await this.ds.query(
      `INSERT INTO bundle_revisions (id, content, size) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
      [id, content, content.length],
    );
  }

  /** The stored content of a revision, or undefined. */
  async revisionContent(id: string): Promise<Buffer | undefined> {
    const row = await this.ds
      .getRepository(BundleRevisionEntity)
      .findOne({ where: { id }, select: { content: true } });
    return row?.content;
  }

  /** sha256 (hex) of the content of revisions, by id. */
  async revisionDigests(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; digest: string }[] = await this.ds.query(
      "SELECT id, encode(sha256(content), 'hex') AS digest FROM bundle_revisions WHERE id = ANY($1::text[])",
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.digest]));
  }

  /** Sizes of revisions, by id. */
  async revisionSizes(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; size: number }[] = await this.ds.query(
      'SELECT id, size FROM bundle_revisions WHERE id = ANY($1::text[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.size]));
  }

  /** Revisions already rendered for variants of a bundle at a commit, by variant key. */
  async renderedVariants(bundle: string, commit: string): Promise<Map<string, string>> {
    const rows = await this.ds.getRepository(VariantRenderEntity).findBy({ bundle, commit });
    return new Map(rows.map((r) => [r.variantKey, r.revision]));
  }

  /** The variants rendered for a bundle at a commit (key and revision), by key. */
  async variantsAt(bundle: string, commit: string): Promise<{ key: string; revision: string }[]> {
    const rows = await this.ds
      .getRepository(VariantRenderEntity)
      .find({ where: { bundle, commit }, order: { variantKey: 'ASC' } });
    return rows.map((r) => ({ key: r.variantKey, revision: r.revision }));
  }

  async recordRender(
    bundle: string,
    commit: string,
    variantKey: string,
    revision: string,
  ): Promise<void> {
    await this.ds.query(
      `INSERT INTO variant_renders (bundle, commit, variant_key, revision) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [bundle, commit, variantKey, revision],
    );
  }
}

/** `dependsOn` names a bundle by its full name (`repo/dir`) or by its name within the same GitRepo. */
export function qualifyBundleName(gitrepo: string, name: string): string {
  return name.includes('/') ? name : `${gitrepo}/${name}`;
}
