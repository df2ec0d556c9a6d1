import 'reflect-metadata';
import { mkdir } from 'node:fs/promises';
import { ReflectionService } from '@grpc/reflection';
import { type LogLevel, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type GrpcOptions, Transport } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import type { Role } from '../../libs/auth/index.js';
import type { HubConfig } from '../../libs/config/config.js';
import { ApiTokenRepository } from '../../libs/db/index.js';
import { fleetProtoPath, flotillaVersion } from '../../libs/contracts/index.js';
import { findFreePort, startLocalInfrastructure } from '../../libs/runtime/index.js';
import type { TimerClock } from '../../libs/liveness/lease.js';
import { ErrorsFilter } from '../shared/errors.filter.js';
import { PinoLoggerService, useJsonLogs } from '../shared/pino-logger.js';
import { RequestInputsInterceptor } from '../shared/request-inputs.interceptor.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { DATA_SOURCE } from '../shared/tokens.js';
import { HubModule } from './hub.module.js';
import { serveDashboard } from './web-dashboard.js';
import { type HubServiceName, hubServiceNames } from './service-names.js';

type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];
type ReflectionServer = Parameters<ReflectionService['addToServer']>[0];

/** How to run a hub. */
export interface HubOptions {
  config: HubConfig;
  /** Which services to run in this process (default: all). */
  services?: readonly HubServiceName[];
  /** Nest log levels (default: log and above); `false` silences Nest. */
  logLevels?: LogLevel[] | false;
  /** `json` or `text` logs, over `config.logFormat` (see {@link useJsonLogs}). */
  logFormat?: 'json' | 'text';
  /** Where embedded PostgreSQL / nats-server chatter goes. */
  infraLog?: (line: string) => void;
  /**
   * Where what the operator should know about them goes (a port of the last start taken,
   * leftovers of a killed run cleared); default: a warning in the hub's log.
   */
  infraNotice?: (line: string) => void;
  /** The services' clock and timers (default the system's); tests pass one they move ahead. */
  clock?: TimerClock;
}

/** A running hub. */
export interface RunningHub {
  httpUrl: string;
  /** host:port of the gRPC server, when the api service runs here. */
  grpcAddress: string | undefined;
  config: ResolvedHubConfig;
  embedded: { postgres: boolean; nats: boolean };
  /**
   * Issues an API token `name` with `role` (replacing an earlier secret of that name), for a
   * program running the hub in-process, such as `flotilla dev` and the demo. Needs the api service.
   */
  issueApiToken(name: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

/** Request bodies over this size get a 413. */
export const BODY_LIMIT = '1mb';

export { parseServices } from './parse-services.js';

/**
 * Starts the hub: embedded PostgreSQL / nats-server when no URL is configured, then the selected
 * services in one NestJS application (REST, OpenAPI, gRPC, health, metrics).
 */
export async function runHub(options: HubOptions): Promise<RunningHub> {
  const services = options.services ?? hubServiceNames;
  const logLevels = options.logLevels ?? ['fatal', 'error', 'warn', 'log'];
  const json = useJsonLogs(
    options.logFormat ?? options.config.logFormat,
    process.stdout.isTTY === true,
  );
  const jsonLogger = json ? new PinoLoggerService(logLevels) : undefined;
  // Loggers made with `new Logger(context)` anywhere (infrastructure too) write through it.
  if (jsonLogger) Logger.overrideLogger(jsonLogger);
  const infra = await startLocalInfrastructure({
    databaseUrl: options.config.databaseUrl,
    natsUrl: options.config.natsUrl,
    dataDir: options.config.dataDir,
    natsAuthDir: options.config.natsAuthDir,
    log: options.infraLog,
    notice: options.infraNotice ?? ((line) => new Logger('Infrastructure').warn(line)),
  });
  try {
    const config: ResolvedHubConfig = {
      ...options.config,
      databaseUrl: infra.databaseUrl,
      natsUrl: infra.natsUrl,
      agentNatsUrl: options.config.agentNatsUrl ?? infra.natsUrl,
      // The embedded nats-server's keys, unless FLOTILLA_NATS_AUTH_DIR names others.
      natsAuthDir: options.config.natsAuthDir ?? infra.natsAuthDir,
    };
    // The directory file:// GitRepos may read from exists from the start, so it can be resolved.
    if (config.fileUrlRoot !== undefined) await mkdir(config.fileUrlRoot, { recursive: true });
    const app = await NestFactory.create<NestExpressApplication>(
      HubModule.forRoot(config, services, options.clock),
      {
        logger: jsonLogger ?? logLevels,
        abortOnError: false,
        // Webhook signatures are checked over the exact bytes received.
        rawBody: true,
        // Shutting down ends every connection, long-lived ones too (the dashboard's live events),
        // instead of waiting for browsers to hang up.
        forceCloseConnections: true,
      },
    );
    app.useBodyParser('json', { limit: BODY_LIMIT });
    app.useGlobalFilters(new ErrorsFilter());
    app.useGlobalInterceptors(new RequestInputsInterceptor());
    app.enableCors();

    let grpcAddress: string | undefined;
    if (services.includes('api')) {
      // The web dashboard at `/`, next to the API it reads (`/api`).
      serveDashboard(app);
      const document = SwaggerModule.createDocument(
        app,
        new DocumentBuilder()
          .setTitle('Flotilla')
          .setDescription('GitOps hub for fleets of Kubernetes clusters')
          .setVersion(flotillaVersion())
          .addBearerAuth()
          // Every endpoint but health, metrics, webhooks and the agent's own takes an API token.
          .addSecurityRequirements('bearer')
          .build(),
      );
      SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/openapi.json' });

      const grpcPort = config.grpcPort === 0 ? await findFreePort() : config.grpcPort;
      grpcAddress = `${config.host}:${grpcPort}`;
      app.connectMicroservice<GrpcOptions>(
        {
          transport: Transport.GRPC,
          options: {
            package: 'flotilla.v1',
            protoPath: fleetProtoPath(),
            url: grpcAddress,
            loader: { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true },
            onLoadPackageDefinition: (pkg: ReflectionPackage, server: ReflectionServer) =>
              new ReflectionService(pkg).addToServer(server),
          },
        },
        { inheritAppConfig: true },
      );
      await app.startAllMicroservices();
    }

    await app.listen(config.port, config.host);
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const shownHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    let closed = false;
    return {
      httpUrl: `http://${shownHost}:${port}`,
      grpcAddress: grpcAddress?.replace('0.0.0.0', '127.0.0.1'),
      config,
      embedded: infra.embedded,
      issueApiToken: (name, role) =>
        new ApiTokenRepository(app.get<DataSource>(DATA_SOURCE)).issue(
          name,
          role,
          'issued in-process by the program running the hub',
        ),
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          await app.close();
        } finally {
          await infra.stop();
        }
      },
    };
  } catch (err) {
    await infra.stop();
    throw err;
  }
}
