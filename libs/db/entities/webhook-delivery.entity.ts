import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A push webhook delivery the hub acted on, by every key that identifies it (the provider's
 * delivery id, the payload's digest), kept until `expires_at` so that a replay of it is ignored
 * on every replica.
 */
@Entity({ name: 'webhook_deliveries' })
@Index('webhook_deliveries_expires_idx', ['expiresAt'])
export class WebhookDeliveryEntity {
  /** `delivery:<provider>:<id>` or `body:<sha256 hex>`. */
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
