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
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import { flotillaVersion } from '../../libs/contracts/project-root.js';
import { ReadinessService } from './readiness.service.js';
import { METRICS_REGISTRY } from './tokens.js';
import { Access } from './access.decorator.js';

/** Liveness, readiness and Prometheus metrics, served by every hub process. */
@ApiExcludeController()
@Access('public')
@Controller()
export class ObservabilityController {
  constructor(
    private readonly readiness: ReadinessService,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  private readonly version = flotillaVersion();

  /** The process is up; with the hub's version. */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: string; version: string } {
    return { status: 'ok', version: this.version };
  }

  /** The hub's version (`flotilla version` shows it next to the client's). */
  @Get('api/v1/version')
  apiVersion(): { version: string; api: string } {
    return { version: this.version, api: 'v1' };
  }

  /**
   * The process can serve: PostgreSQL answers, NATS is connected, and what the services rely on
   * is there (e.g. the status stream).
   */
  @Get('readyz')
  async readyz(): Promise<{ status: string; checks: Record<string, string> }> {
    const checks = await this.readiness.report();
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
