import { Module } from '@nestjs/common';
import { HeartbeatIngestService } from './heartbeat-ingest.service.js';

/** The status service: agent heartbeats and cluster liveness. */
@Module({ providers: [HeartbeatIngestService] })
export class StatusModule {}
