import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { BundleRevisionEntity } from './bundle-revision.entity.js';

/** Memo of renders: a bundle's variant at a commit rendered to this revision (render once). */
@Entity({ name: 'variant_renders' })
export class VariantRenderEntity {
  @PrimaryColumn({ type: 'text' })
  bundle: string;

  @PrimaryColumn({ type: 'text' })
  commit: string;

  @PrimaryColumn({ name: 'variant_key', type: 'text' })
  variantKey: string;

  @Column({ type: 'text' })
  revision: string;

  @ManyToOne(() => BundleRevisionEntity)
  @JoinColumn({
    name: 'revision',
    referencedColumnName: 'id',
    foreignKeyConstraintName: 'variant_renders_revision_fkey',
  })
  revisionEntity?: BundleRevisionEntity;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
