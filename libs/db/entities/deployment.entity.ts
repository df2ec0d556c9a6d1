import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { BundleRevisionEntity } from './bundle-revision.entity.js';
import { ClusterEntity } from './cluster.entity.js';

/** One bundle on one cluster: what it is told to run, and what its agent last reported. */
@Entity({ name: 'deployments' })
export class DeploymentEntity {
  @PrimaryColumn({ type: 'text' })
  bundle: string;

  @Index('deployments_cluster_idx')
  @PrimaryColumn({ type: 'text' })
  cluster: string;

  @ManyToOne(() => ClusterEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'cluster',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'deployments_cluster_fkey',
  })
  clusterEntity?: ClusterEntity;

  /** Null while the bundle is being removed from the cluster. */
  @Column({ name: 'desired_revision', type: 'text', nullable: true })
  desiredRevision: string | null;

  @ManyToOne(() => BundleRevisionEntity)
  @JoinColumn({
    name: 'desired_revision',
    referencedColumnName: 'id',
    foreignKeyConstraintName: 'deployments_desired_revision_fkey',
  })
  desiredRevisionEntity?: BundleRevisionEntity;

  @Column({ name: 'desired_commit', type: 'text', nullable: true })
  desiredCommit: string | null;

  @Column({ name: 'applied_revision', type: 'text', nullable: true })
  appliedRevision: string | null;

  /** Last reported state (Pending until the agent reports). */
  @Column({ type: 'text', default: 'Pending' })
  state: string;

  @Column({ type: 'text', default: '' })
  message: string;

  @Column({ type: 'jsonb', default: [] })
  resources: unknown[];

  @Column({ name: 'reported_at', type: 'timestamptz', nullable: true })
  reportedAt: Date | null;

  @Column({ name: 'desired_at', type: 'timestamptz', default: () => 'now()' })
  desiredAt: Date;
}
