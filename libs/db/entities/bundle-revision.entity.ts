import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Rendered content of a bundle variant, stored once by its id (sha256 of objects + options). */
@Entity({ name: 'bundle_revisions' })
export class BundleRevisionEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  /** UTF-8 JSON: `{objects, options}`. */
  @Column({ type: 'bytea' })
  content: Buffer;

  @Column({ type: 'integer' })
  size: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
