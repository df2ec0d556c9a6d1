import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A cluster target of a GitRepo or bundle: by selector, group or name. */
export interface TargetSpec {
  clusterSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  clusterGroup?: string;
  clusterName?: string;
}

/** Credentials for an http(s) Git URL; never returned by the API nor logged. */
export type GitCredentials = { username: string; password: string } | { token: string };

/** A Git source: where bundles come from and which clusters they target. */
@Entity({ name: 'gitrepos' })
export class GitRepoEntity {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text', nullable: true })
  branch: string | null;

  /** A pinned commit; when set, the branch is not followed. */
  @Column({ type: 'text', nullable: true })
  revision: string | null;

  @Column({ type: 'jsonb', default: [] })
  paths: string[];

  @Column({ name: 'polling_interval_ms', type: 'integer', default: 15000 })
  pollingIntervalMs: number;

  @Column({ type: 'jsonb', default: [] })
  targets: TargetSpec[];

  /**
   * `GitCredentials` as JSON, encrypted (`enc:v1:…`, see libs/secrets); only GitRepoRepository
   * reads and writes it.
   */
  @Column({ type: 'text', nullable: true })
  credentials: string | null;

  /** The webhook secret, encrypted like `credentials`. */
  @Column({ name: 'webhook_secret', type: 'text', nullable: true })
  webhookSecret: string | null;

  /** Bumped on every spec change, so a sync after an edit re-resolves even at the same commit. */
  @Column({ type: 'integer', default: 1 })
  generation: number;

  @Column({ name: 'synced_generation', type: 'integer', default: 0 })
  syncedGeneration: number;

  /** The commit last synced. */
  @Column({ type: 'text', nullable: true })
  commit: string | null;

  /** When the last sync or poll ran, whether or not it found a new commit. */
  @Column({ name: 'last_synced_at', type: 'timestamptz', nullable: true })
  lastSyncedAt: Date | null;

  /** When the GitRepo last moved to another commit. */
  @Column({ name: 'last_changed_at', type: 'timestamptz', nullable: true })
  lastChangedAt: Date | null;

  /**
   * Why the last sync failed (unreachable, bad credentials, a missing path, a path that lost
   * every bundle), or null.
   */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
