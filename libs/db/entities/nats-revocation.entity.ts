import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An agent's NATS user that is revoked (its cluster was deleted, or its agent token rotated).
 * The hub lists every row in the Flotilla account's JWT, which NATS servers enforce. Rows
 * outlive their cluster on purpose: the account JWT must keep naming them.
 */
@Entity({ name: 'nats_revocations' })
export class NatsRevocationEntity {
  /** The user's nkey public key (`U…`). */
  @PrimaryColumn({ name: 'user_public_key', type: 'text' })
  userPublicKey: string;

  /** The cluster the user belonged to (informational: the cluster may be gone). */
  @Column({ name: 'cluster_name', type: 'text' })
  clusterName: string;

  /** Why: `cluster-deleted` or `token-rotated`. */
  @Column({ type: 'text' })
  reason: string;

  @Column({ name: 'revoked_at', type: 'timestamptz', default: () => 'now()' })
  revokedAt: Date;
}
