export * from './env.js';
export * from './database.js';
export * from './nats.js';
export * from './eventually.js';
