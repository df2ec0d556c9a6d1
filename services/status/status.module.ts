import { Module } from '@nestjs/common';
import { HeartbeatIngestService } from './heartbeat-ingest.service.js';
import { StatusIngestService } from './status-ingest.service.js';

/** The status service: cluster liveness from heartbeats, deployment status from agents' reports. */
@Module({ providers: [HeartbeatIngestService, StatusIngestService] })
export class StatusModule {}
