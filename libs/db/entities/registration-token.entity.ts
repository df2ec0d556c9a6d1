import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Lets agents register themselves, a limited number of times until it expires. */
@Entity({ name: 'registration_tokens' })
export class RegistrationTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('registration_tokens_hash_uq', { unique: true })
  @Column({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** Labels every cluster registered with this token gets (the agent's own labels win). */
  @Column({ type: 'jsonb', default: {} })
  labels: Record<string, string>;

  @Column({ name: 'max_uses', type: 'integer', nullable: true })
  maxUses: number | null;

  @Column({ type: 'integer', default: 0 })
  uses: number;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
