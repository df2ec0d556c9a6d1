import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A hub-wide setting shared by every replica. */
@Entity({ name: 'hub_settings' })
export class HubSettingEntity {
  @PrimaryColumn({ type: 'text' })
  key: string;

  /** Encrypted (`enc:v1:…`, see libs/secrets); only HubSettingsRepository reads and writes it. */
  @Column({ type: 'text' })
  value: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
