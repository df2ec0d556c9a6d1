import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { ValuesSource, ValuesSourceKind } from '../../bundles/values-from.js';
import type { HelmRepoCredentials } from '../../charts/credentials.js';
import { Secret, SecretBox } from '../../secrets/index.js';
import { type GitCredentials, GitRepoEntity } from '../entities/gitrepo.entity.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../errors.js';
import { type Page, type PageRequest, toPage } from '../pagination.js';

/** The fields of a GitRepo a user sets. */
export type GitRepoSpec = Pick<
  GitRepoEntity,
  'url' | 'branch' | 'revision' | 'paths' | 'pollingIntervalMs' | 'targets'
> & {
  credentials: GitCredentials | null;
  webhookSecret: string | null;
  /** Credentials for Helm repositories and OCI registries by URL prefix (default none). */
  helmCredentials?: HelmRepoCredentials | null;
  /** Charts may be fetched over plain http (default false: https only). */
  helmAllowHttp?: boolean;
};

/**
 * A GitRepo as the hub uses it: its secrets decrypted, but wrapped so that they stay out of
 * logs, JSON and messages unless `reveal()`ed.
 */
export type GitRepo = Omit<GitRepoEntity, 'credentials' | 'webhookSecret' | 'helmCredentials'> & {
  credentials: Secret<GitCredentials> | null;
  webhookSecret: Secret<string> | null;
  helmCredentials: Secret<HelmRepoCredentials> | null;
};

/**
 * Git sources and their sync status. Credentials and webhook secrets are encrypted with the
 * hub's SecretBox on every write and decrypted on read; nothing else sees the stored form.
 */
export class GitRepoRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly box: SecretBox,
  ) {}

  private get repo() {
    return this.ds.getRepository(GitRepoEntity);
  }

  async create(name: string, spec: GitRepoSpec): Promise<GitRepo> {
    try {
      await this.ds.query(
        `INSERT INTO gitrepos (name, url, branch, revision, paths, polling_interval_ms, targets, credentials, webhook_secret,
                               helm_credentials, helm_allow_http)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [name, ...this.specParams(name, spec)],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`gitrepo "${name}" already exists`);
      throw err;
    }
    return this.get(name);
  }

  /**
   * Runs `sync` holding the GitRepo's sync lock (a PostgreSQL advisory lock, so one replica
   * syncs a GitRepo at a time); returns false without running it when another holds the lock.
   */
  async whileSyncLocked(name: string, sync: () => Promise<void>): Promise<boolean> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const locked = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        `gitrepo:${name}`,
      ])) as { ok: boolean }[];
      if (!locked[0]?.ok) return false;
      try {
        await sync();
        return true;
      } finally {
        await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`gitrepo:${name}`]);
      }
    } finally {
      await runner.release();
    }
  }

  async get(name: string): Promise<GitRepo> {
    const found = await this.repo.findOneBy({ name });
    if (!found) throw new NotFoundError(`gitrepo "${name}" not found`);
    return this.open(found);
  }

  async list(page: PageRequest): Promise<Page<GitRepo>> {
    const qb = this.repo
      .createQueryBuilder('g')
      .orderBy('g.name', 'ASC')
      .limit(page.limit + 1);
    if (page.after !== undefined) qb.where('g.name > :after', { after: page.after });
    const result = toPage(await qb.getMany(), page.limit, (g) => g.name);
    return { ...result, items: result.items.map((g) => this.open(g)) };
  }

  /** Every GitRepo (the resolver schedules them all). */
  async all(): Promise<GitRepo[]> {
    return (await this.repo.find({ order: { name: 'ASC' } })).map((g) => this.open(g));
  }

  /**
   * Replaces the spec and bumps the generation, so the next sync re-resolves. With
   * `expectedGeneration`, only if the GitRepo is still at that generation (`ConflictError`
   * otherwise): an update based on what the caller read never undoes another's.
   */
  async replace(name: string, spec: GitRepoSpec, expectedGeneration?: number): Promise<GitRepo> {
    const [, affected] = await this.ds.query<[unknown, number]>(
      `UPDATE gitrepos SET url = $2, branch = $3, revision = $4, paths = $5, polling_interval_ms = $6,
              targets = $7, credentials = $8, webhook_secret = $9, helm_credentials = $10, helm_allow_http = $11,
              generation = generation + 1, updated_at = now()
        WHERE name = $1 AND ($12::integer IS NULL OR generation = $12)`,
      [name, ...this.specParams(name, spec), expectedGeneration ?? null],
    );
    if (!affected) {
      const current = await this.get(name); // NotFoundError when it is gone
      throw new ConflictError(
        `gitrepo "${name}" is at generation ${current.generation}, not ${expectedGeneration}: it changed since it was read; read it again and retry`,
      );
    }
    return this.get(name);
  }

  async delete(name: string): Promise<void> {
    const result = await this.repo.delete({ name });
    if (!result.affected) throw new NotFoundError(`gitrepo "${name}" not found`);
  }

  /**
   * Stores (creates or replaces) a values source of the GitRepo (the data of a Secret or
   * ConfigMap that fleet.yaml `helm.valuesFrom` refers to), encrypted, and bumps the GitRepo's
   * generation so the next sync renders with it. `NotFoundError` when the GitRepo does not exist.
   */
  async putValuesSource(gitrepo: string, source: ValuesSource): Promise<ValuesSourceInfo> {
    const { kind, namespace, name, data } = source;
    const keys = Object.keys(data).sort();
    const sealed = this.box.encrypt(
      JSON.stringify(data),
      valuesContext(gitrepo, kind, namespace, name),
    );
    await this.ds.transaction(async (m) => {
      const [, bumped] = await m.query<[unknown, number]>(
        `UPDATE gitrepos SET generation = generation + 1, updated_at = now() WHERE name = $1`,
        [gitrepo],
      );
      if (!bumped) throw new NotFoundError(`gitrepo "${gitrepo}" not found`);
      await m.query(
        `INSERT INTO gitrepo_values (gitrepo, kind, namespace, name, keys, data, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (gitrepo, kind, namespace, name)
         DO UPDATE SET keys = $5, data = $6, version = $7, updated_at = now()`,
        [gitrepo, kind, namespace, name, JSON.stringify(keys), sealed, randomUUID()],
      );
    });
    const info = (await this.valuesSources(gitrepo)).find(
      (i) => i.kind === kind && i.namespace === namespace && i.name === name,
    );
    return info!;
  }

  /** Deletes a values source (and bumps the generation); `NotFoundError` when there is none. */
  async deleteValuesSource(
    gitrepo: string,
    kind: ValuesSourceKind,
    namespace: string,
    name: string,
  ): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [, deleted] = await m.query<[unknown, number]>(
        `DELETE FROM gitrepo_values WHERE gitrepo = $1 AND kind = $2 AND namespace = $3 AND name = $4`,
        [gitrepo, kind, namespace, name],
      );
      if (!deleted) {
        throw new NotFoundError(`gitrepo "${gitrepo}" has no ${kind} ${namespace}/${name}`);
      }
      await m.query(
        `UPDATE gitrepos SET generation = generation + 1, updated_at = now() WHERE name = $1`,
        [gitrepo],
      );
    });
  }

  /** The GitRepo's values sources without their data: kind, namespace, name, keys, version. */
  async valuesSources(gitrepo: string): Promise<ValuesSourceInfo[]> {
    const rows = await this.ds.query<
      {
        kind: ValuesSourceKind;
        namespace: string;
        name: string;
        keys: string[];
        version: string;
        updated_at: Date;
      }[]
    >(
      `SELECT kind, namespace, name, keys, version, updated_at FROM gitrepo_values
        WHERE gitrepo = $1 ORDER BY kind, namespace, name`,
      [gitrepo],
    );
    return rows.map((r) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      keys: r.keys,
      version: r.version,
      updatedAt: r.updated_at,
    }));
  }

  /**
   * The GitRepo's values sources with their data, decrypted but wrapped (see `Secret`), and a
   * `versions` string that changes whenever one of them does (it holds no data).
   */
  async openValuesSources(
    gitrepo: string,
  ): Promise<{ sources: Secret<ValuesSource[]>; versions: string }> {
    const rows = await this.ds.query<
      { kind: ValuesSourceKind; namespace: string; name: string; data: string; version: string }[]
    >(
      `SELECT kind, namespace, name, data, version FROM gitrepo_values
        WHERE gitrepo = $1 ORDER BY kind, namespace, name`,
      [gitrepo],
    );
    const sources = rows.map((r) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      data: parseValuesData(
        gitrepo,
        this.box.decrypt(r.data, valuesContext(gitrepo, r.kind, r.namespace, r.name)),
      ),
    }));
    return { sources: new Secret(sources), versions: rows.map((r) => r.version).join(',') };
  }

  /**
   * Records a sync at `commit` of spec `generation`: bundles were resolved at that commit, with
   * `error` telling what was held back (a missing path, a path that lost every bundle) or null.
   * `lastChangedAt` moves only when the commit does.
   */
  async recordSynced(
    name: string,
    commit: string,
    generation: number,
    error: string | null = null,
  ): Promise<void> {
    await this.ds.query(
      `UPDATE gitrepos SET last_changed_at = CASE WHEN commit IS DISTINCT FROM $2 THEN now() ELSE last_changed_at END,
              commit = $2, synced_generation = $3, last_synced_at = now(), error = $4
        WHERE name = $1`,
      [name, commit, generation, error],
    );
  }

  /** Records a poll that found nothing new: only `lastSyncedAt` moves. */
  async recordPolled(name: string): Promise<void> {
    await this.repo.update({ name }, { lastSyncedAt: new Date() });
  }

  /** Records a failed sync; the last good commit stays. */
  async recordError(name: string, error: string): Promise<void> {
    await this.repo.update({ name }, { error, lastSyncedAt: new Date() });
  }

  /**
   * Encrypts credentials and webhook secrets written in plaintext by an earlier version of the
   * hub (or still being written by one during a rolling upgrade); returns how many GitRepos.
   * Idempotent and safe with several replicas: a row is updated only if still unchanged.
   */
  async encryptLegacySecrets(): Promise<number> {
    const rows: { name: string; credentials: string | null; webhook_secret: string | null }[] =
      await this.ds.query(
        `SELECT name, credentials, webhook_secret FROM gitrepos
          WHERE credentials NOT LIKE 'enc:%' OR webhook_secret NOT LIKE 'enc:%'`,
      );
    let encrypted = 0;
    for (const row of rows) {
      const credentials =
        row.credentials === null || SecretBox.isEncrypted(row.credentials)
          ? row.credentials
          : this.box.encrypt(
              JSON.stringify(parseCredentials(row.name, row.credentials)),
              credentialsContext(row.name),
            );
      const webhookSecret =
        row.webhook_secret === null || SecretBox.isEncrypted(row.webhook_secret)
          ? row.webhook_secret
          : this.box.encrypt(row.webhook_secret, webhookContext(row.name));
      const [, affected] = await this.ds.query<[unknown, number]>(
        `UPDATE gitrepos SET credentials = $4, webhook_secret = $5
          WHERE name = $1 AND credentials IS NOT DISTINCT FROM $2
            AND webhook_secret IS NOT DISTINCT FROM $3`,
        [row.name, row.credentials, row.webhook_secret, credentials, webhookSecret],
      );
      encrypted += affected;
    }
    return encrypted;
  }

  private specParams(name: string, spec: GitRepoSpec): unknown[] {
    return [
      spec.url,
      spec.branch,
      spec.revision,
      JSON.stringify(spec.paths),
      spec.pollingIntervalMs,
      JSON.stringify(spec.targets),
      spec.credentials === null
        ? null
        : this.box.encrypt(JSON.stringify(spec.credentials), credentialsContext(name)),
      spec.webhookSecret === null
        ? null
        : this.box.encrypt(spec.webhookSecret, webhookContext(name)),
      spec.helmCredentials === null || spec.helmCredentials === undefined
        ? null
        : this.box.encrypt(JSON.stringify(spec.helmCredentials), helmContext(name)),
      spec.helmAllowHttp ?? false,
    ];
  }

  /** Decrypts the secrets of a stored row; plaintext ones (an older hub wrote them) are read too. */
  private open(entity: GitRepoEntity): GitRepo {
    const { credentials, webhookSecret, helmCredentials, ...rest } = entity;
    const name = entity.name;
    return {
      ...rest,
      credentials:
        credentials === null
          ? null
          : new Secret(
              parseCredentials(
                name,
                SecretBox.isEncrypted(credentials)
                  ? this.box.decrypt(credentials, credentialsContext(name))
                  : credentials,
              ),
            ),
      webhookSecret:
        webhookSecret === null
          ? null
          : new Secret(
              SecretBox.isEncrypted(webhookSecret)
                ? this.box.decrypt(webhookSecret, webhookContext(name))
                : webhookSecret,
            ),
      helmCredentials:
        helmCredentials === null
          ? null
          : new Secret(
              parseHelmCredentials(name, this.box.decrypt(helmCredentials, helmContext(name))),
            ),
    };
  }
}

const credentialsContext = (name: string) => `gitrepos.credentials:${name}`;
const webhookContext = (name: string) => `gitrepos.webhook_secret:${name}`;
const helmContext = (name: string) => `gitrepos.helm_credentials:${name}`;
const valuesContext = (gitrepo: string, kind: string, namespace: string, name: string) =>
  `gitrepo_values:${gitrepo}/${kind}/${namespace}/${name}`;

/** A values source as the API shows it: never its data, only its keys. */
export interface ValuesSourceInfo {
  kind: ValuesSourceKind;
  namespace: string;
  name: string;
  keys: string[];
  /** Changes with every write. */
  version: string;
  updatedAt: Date;
}

/** The values data JSON `text` holds; the error names the GitRepo, never the content. */
function parseValuesData(gitrepo: string, text: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, string>;
    }
  } catch {
    // reported below
  }
  throw new Error(`gitrepo "${gitrepo}": a stored values source is malformed`);
}

/** The Helm credentials JSON `text` holds; the error names the GitRepo, never the content. */
function parseHelmCredentials(name: string, text: string): HelmRepoCredentials {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as HelmRepoCredentials;
    }
  } catch {
    // reported below
  }
  throw new Error(`gitrepo "${name}": stored Helm credentials are malformed`);
}

/** The credentials JSON `text` holds; the error names the GitRepo, never the content. */
function parseCredentials(name: string, text: string): GitCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const v = value as Record<string, unknown> | null | undefined;
  if (typeof v?.token === 'string') return { token: v.token };
  if (typeof v?.username === 'string' && typeof v.password === 'string') {
    return { username: v.username, password: v.password };
  }
  throw new Error(`gitrepo "${name}": stored credentials are malformed`);
}
