// Local infrastructure for running the hub on one machine with no setup: an embedded PostgreSQL
// and a nats-server child process, each on a free port, with their data in Flotilla's data dir.
export { findFreePort } from './free-port.js';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresOptions,
} from './embedded-postgres.js';
export {
  NATS_SERVER_FALLBACK_PATHS,
  NatsServerNotFoundError,
  findNatsServerBinary,
  startNatsServer,
  type NatsServerHandle,
  type NatsServerOptions,
} from './nats-server.js';
export {
  startLocalInfrastructure,
  type LocalInfrastructure,
  type LocalInfrastructureOptions,
} from './local-infrastructure.js';
