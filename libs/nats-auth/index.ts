// NATS decentralized JWT authentication for Flotilla: keys, JWTs and credentials of the operator,
// the accounts, the hub and every agent; nats-server configuration; account updates
// (revocations) pushed at runtime. Framework-free.
export {
  ACCOUNT_NAME,
  NatsAuthority,
  OPERATOR_NAME,
  REVOKED_FOREVER,
  SYSTEM_ACCOUNT_NAME,
  generateNatsAuth,
  type AgentCredentials,
  type GeneratedNatsAuth,
  type NatsAuthKeys,
} from './authority.js';
export { CLAIMS_UPDATE_SUBJECT, ClaimsUpdateError, pushAccountJwt } from './claims-update.js';
export {
  NATS_AUTH_FILES,
  ensureNatsAuthDir,
  initNatsAuthDir,
  readNatsAuthKeys,
  type NatsAuthDir,
} from './files.js';
export { agentPermissions, type AgentPermissions } from './permissions.js';
export { natsServerConfig, type NatsServerAuthConfig } from './server-config.js';
