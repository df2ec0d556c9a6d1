import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { GitRepoEntity } from './gitrepo.entity.js';

/** A bundle found in a GitRepo: a directory of plain YAML, a Kustomize dir or a Helm chart. */
@Entity({ name: 'bundles' })
export class BundleEntity {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Index('bundles_gitrepo_idx')
  @Column({ type: 'text' })
  gitrepo: string;

  @ManyToOne(() => GitRepoEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'gitrepo',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'bundles_gitrepo_fkey',
  })
  repo?: GitRepoEntity;

  @Column({ type: 'text' })
  dir: string;

  @Column({ type: 'text' })
  kind: string;

  /** The last commit this bundle resolved cleanly at (clusters keep running it on errors). */
  @Column({ type: 'text', nullable: true })
  commit: string | null;

  @Column({ type: 'jsonb', default: {} })
  options: Record<string, unknown>;

  @Column({ name: 'rollout_strategy', type: 'jsonb', nullable: true })
  rolloutStrategy: Record<string, unknown> | null;

  @Column({ name: 'depends_on', type: 'jsonb', default: [] })
  dependsOn: { name: string }[];

  /** Why the bundle failed to resolve at `errorCommit` (parse or render error), or null. */
  /**
   * Charts from Helm repositories and registries its last good revision was rendered from: where
   * from, and the exact version and archive digest.
   */
  @Column({ type: 'jsonb', default: [] })
  charts: { from: string; name: string; version: string; digest: string }[];

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'error_commit', type: 'text', nullable: true })
  errorCommit: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
