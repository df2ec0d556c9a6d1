import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { RolloutEntity } from './rollout.entity.js';

/** One transition of a rollout or one request about it, with who caused it. */
@Entity({ name: 'rollout_audit' })
@Index('rollout_audit_rollout_idx', ['rolloutId', 'id'])
export class RolloutAuditEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'rollout_id', type: 'uuid' })
  rolloutId: string;

  @ManyToOne(() => RolloutEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'rollout_id',
    referencedColumnName: 'id',
    foreignKeyConstraintName: 'rollout_audit_rollout_id_fkey',
  })
  rollout?: RolloutEntity;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  /** `system` for the controller, else the caller (token name once auth exists). */
  @Column({ type: 'text' })
  actor: string;

  @Column({ type: 'text' })
  action: string;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState: string | null;

  @Column({ name: 'to_state', type: 'text', nullable: true })
  toState: string | null;

  @Column({ type: 'jsonb', default: {} })
  detail: Record<string, unknown>;
}
