import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { GitRepoEntity } from './gitrepo.entity.js';

/** A plan: what a candidate commit of a GitRepo would change on the fleet (deploys nothing). */
@Entity({ name: 'plans' })
@Index('plans_gitrepo_commit_idx', ['gitrepo', 'commit'])
@Index('plans_commit_idx', ['commit', 'createdAt'])
export class PlanEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'text' })
  gitrepo: string;

  @ManyToOne(() => GitRepoEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'gitrepo',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'plans_gitrepo_fkey',
  })
  repo?: GitRepoEntity;

  /** The candidate commit. */
  @Column({ type: 'text' })
  commit: string;

  /** The branch asked for (the GitRepo's when neither branch nor revision was given). */
  @Column({ type: 'text', nullable: true })
  branch: string | null;

  /** The revision asked for. */
  @Column({ type: 'text', nullable: true })
  revision: string | null;

  /** `api` (an operator asked) or `webhook:<provider>` (a pull/merge request). */
  @Column({ type: 'text' })
  trigger: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  /** The plan's summary (counts and the terse line). */
  @Column({ type: 'jsonb' })
  summary: Record<string, unknown>;

  /** The whole plan: bundles, problems. */
  @Column({ type: 'jsonb' })
  result: Record<string, unknown>;
}
