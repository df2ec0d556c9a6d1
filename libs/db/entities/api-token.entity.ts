import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Role } from '../../auth/roles.js';

/** A token for the REST and gRPC API, with a role; only its sha256 is stored. */
@Entity({ name: 'api_tokens' })
@Check('api_tokens_role_check', `"role" IN ('viewer', 'operator', 'admin')`)
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('api_tokens_name_uq', { unique: true })
  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  role: Role;

  @Index('api_tokens_hash_uq', { unique: true })
  @Column({ name: 'token_hash', type: 'text' })
  tokenHash: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  /** Updated at most once a minute per hub replica, so reads are not writes. */
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
