import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

/** A staged rollout of one bundle to one commit. */
@Entity({ name: 'rollouts' })
@Index('rollouts_bundle_idx', ['bundle', 'createdAt'])
export class RolloutEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  bundle: string;

  @Column({ name: 'from_commit', type: 'text', nullable: true })
  fromCommit: string | null;

  @Column({ name: 'to_commit', type: 'text' })
  toCommit: string;

  /** The record's state, in a column of its own for queries (a `RolloutState`). */
  @Index('rollouts_state_idx')
  @Column({ type: 'text' })
  state: string;

  /** The rolloutStrategy of the bundle at the time (fleet.yaml). */
  @Column({ type: 'jsonb' })
  strategy: Record<string, unknown>;

  /**
   * The planner's record (stages, per-cluster progress, failures) as stored: `RolloutRepository`
   * hands it out parsed with `RolloutRecordSchema` (libs/contracts).
   */
  @Column({ type: 'jsonb' })
  record: unknown;

  /** Per cluster, the revisions it moves between, as stored (parsed with `RolloutRevisionsSchema`). */
  @Column({ type: 'jsonb' })
  revisions: unknown;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
