import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ClusterEntity } from './cluster.entity.js';

/** The credential one cluster's agent runs with; only its sha256 is stored. */
@Entity({ name: 'agent_tokens' })
export class AgentTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('agent_tokens_cluster_idx')
  @Column({ name: 'cluster_name', type: 'text' })
  clusterName: string;

  @ManyToOne(() => ClusterEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'cluster_name',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'agent_tokens_cluster_name_fkey',
  })
  cluster?: ClusterEntity;

  @Index('agent_tokens_hash_uq', { unique: true })
  @Column({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
