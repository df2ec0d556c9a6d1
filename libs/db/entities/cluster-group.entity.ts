import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A named label selector; its members are computed when read, so they follow label changes. */
@Entity({ name: 'cluster_groups' })
export class ClusterGroupEntity {
  @PrimaryColumn({ type: 'text' })
  name: string;

  /** Canonical Kubernetes LabelSelector object (`matchLabels`, `matchExpressions`). */
  @Column({ type: 'jsonb' })
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
