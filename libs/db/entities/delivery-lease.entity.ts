import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The rollouts replica that drives a bundle's delivery until the lease expires. */
@Entity({ name: 'delivery_leases' })
export class DeliveryLeaseEntity {
  @PrimaryColumn({ type: 'text' })
  bundle: string;

  @Column({ type: 'text' })
  holder: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
