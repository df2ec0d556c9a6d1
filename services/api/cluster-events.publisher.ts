import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ClusterEventType, type Subjects, clusterEvent } from '../../libs/contracts/index.js';
import type { ClusterEntity } from '../../libs/db/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

/** Publishes `flotilla.events.cluster.<name>` for registrations, label changes and deletions. */
@Injectable()
export class ClusterEventsPublisher {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
  ) {}

  publish(
    type: ClusterEventType,
    cluster: ClusterEntity,
    previousState: string | null = null,
  ): void {
    publishJson(
      this.nc,
      this.subjects.event('cluster', cluster.name),
      clusterEvent(type, cluster, previousState),
    );
  }
}
