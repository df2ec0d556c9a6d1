import {
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, METRICS_REGISTRY, NATS_CONNECTION } from './tokens.js';
import { Access } from './access.decorator.js';

/** Liveness, readiness and Prometheus metrics, served by every hub process. */
@ApiExcludeController()
@Access('public')
@Controller()
export class ObservabilityController {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  /** The process is up. */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  /** The process can serve: PostgreSQL answers and NATS is connected. */
  @Get('readyz')
  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    try {
      await this.ds.query('SELECT 1');
      checks.postgres = 'ok';
    } catch (err) {
      checks.postgres = `failing: ${err instanceof Error ? err.message : String(err)}`;
    }
    checks.nats = this.nc.isClosed() ? 'failing: connection closed' : 'ok';
    const ready = Object.values(checks).every((v) => v === 'ok');
    if (!ready) throw new ServiceUnavailableException(`not ready: ${JSON.stringify(checks)}`);
    return { status: 'ok', checks };
  }

  /** Prometheus text exposition. */
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metrics(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.registry.contentType);
    res.send(await this.registry.metrics());
  }
}
