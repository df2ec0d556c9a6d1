import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { BundleRevisionEntity } from './bundle-revision.entity.js';
import { ClusterEntity } from './cluster.entity.js';

/** What Git says a cluster should run for a bundle (before any rollout gating). */
@Entity({ name: 'bundle_targets' })
export class BundleTargetEntity {
  @PrimaryColumn({ type: 'text' })
  bundle: string;

  @Index('bundle_targets_cluster_idx')
  @PrimaryColumn({ type: 'text' })
  cluster: string;

  @ManyToOne(() => ClusterEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'cluster',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'bundle_targets_cluster_fkey',
  })
  clusterEntity?: ClusterEntity;

  @Column({ type: 'text' })
  revision: string;

  @ManyToOne(() => BundleRevisionEntity)
  @JoinColumn({
    name: 'revision',
    referencedColumnName: 'id',
    foreignKeyConstraintName: 'bundle_targets_revision_fkey',
  })
  revisionEntity?: BundleRevisionEntity;

  @Column({ type: 'text' })
  commit: string;

  /**
   * The variant (its render key) the cluster falls in, or null on rows written before it was
   * recorded: variants that render the same revision are told apart by it.
   */
  @Column({ name: 'variant_key', type: 'text', nullable: true })
  variantKey: string | null;

  /** Why delivery holds this cluster back from the target (e.g. a dependency not Ready), or null. */
  @Column({ name: 'hold_reason', type: 'text', nullable: true })
  holdReason: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
