import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The newest sequence number of the signed hub → agent payloads of a cluster. Kept when the
 * cluster is deleted: a cluster registered again under the name goes on from there.
 */
@Entity({ name: 'agent_sequences' })
export class AgentSequenceEntity {
  @PrimaryColumn({ type: 'text' })
  cluster: string;

  @Column({ type: 'bigint' })
  seq: string;
}
