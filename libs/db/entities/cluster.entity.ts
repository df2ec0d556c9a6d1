import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A registered cluster: its labels and the liveness the status service derives. */
@Entity({ name: 'clusters' })
export class ClusterEntity {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Index('clusters_labels_gin', { synchronize: false })
  @Column({ type: 'jsonb', default: {} })
  labels: Record<string, string>;

  @Column({ type: 'text', default: 'Pending' })
  state: string;

  @Column({ name: 'last_seen', type: 'timestamptz', nullable: true })
  lastSeen: Date | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ name: 'agent_version', type: 'text', nullable: true })
  agentVersion: string | null;

  @Column({ name: 'kubernetes_version', type: 'text', nullable: true })
  kubernetesVersion: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
