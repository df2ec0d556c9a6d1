import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm';

/**
 * Where notifications go (libs/notifications `NotificationTargetSpec`). `url`, `hmac_key` and
 * `token` are encrypted (`enc:v1:…`); only NotificationRepository reads or writes them.
 */
@Entity({ name: 'notification_targets' })
export class NotificationTargetEntity {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'text', nullable: true })
  url: string | null;

  @Column({ name: 'hmac_key', type: 'text', nullable: true })
  hmacKey: string | null;

  @Column({ type: 'text', nullable: true })
  token: string | null;

  @Column({ name: 'allow_http', type: 'boolean', default: false })
  allowHttp: boolean;

  @Column({ name: 'rate_limit_per_minute', type: 'integer' })
  rateLimitPerMinute: number;

  @Column({ name: 'timeout_ms', type: 'integer' })
  timeoutMs: number;

  @Column({ type: 'text' })
  context: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}

/** Which events go to which targets (libs/notifications `NotificationRuleSpec` as `spec`). */
@Entity({ name: 'notification_rules' })
export class NotificationRuleEntity {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Column({ type: 'jsonb' })
  spec: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}

/**
 * One event to deliver to one target: written when an event matches a rule, claimed by one
 * replica at a time, retried until delivered or dead-lettered.
 */
@Entity({ name: 'notification_outbox' })
@Index('notification_outbox_event_target_idx', ['eventId', 'target'], { unique: true })
@Index('notification_outbox_due_idx', ['state', 'nextAttemptAt'])
export class NotificationOutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ type: 'text' })
  target: string;

  @ManyToOne(() => NotificationTargetEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'target',
    referencedColumnName: 'name',
    foreignKeyConstraintName: 'notification_outbox_target_fkey',
  })
  targetEntity?: NotificationTargetEntity;

  @Column({ type: 'jsonb' })
  event: Record<string, unknown>;

  /** Pending, Delivered, Dead or Superseded. */
  @Column({ type: 'text', default: 'Pending' })
  state: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;
}
