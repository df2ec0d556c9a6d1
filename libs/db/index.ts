export * from './data-source.js';
export * from './entities/index.js';
export * from './errors.js';
export * from './pagination.js';
export * from './tokens.js';
export * from './repositories/cluster.repository.js';
export * from './repositories/cluster-group.repository.js';
export * from './repositories/token.repository.js';
