export * from './env.js';
export * from './database.js';
export * from './nats.js';
export * from './eventually.js';
export * from './git-server.js';
export * from './fake-kube-api.js';
export * from './oci-registry.js';
export * from './helm-repo.js';
