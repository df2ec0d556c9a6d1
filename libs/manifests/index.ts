/** Framework-free manifest handling shared by the agent's cluster drivers. */
export * from './types.js';
export * from './object-key.js';
export * from './apply-order.js';
export * from './apply-plan.js';
export * from './drift.js';
export * from './ownership.js';
export * from './health.js';
export * from './field-schema.js';
export * from './managed-fields.js';
export * from './inventory.js';
export * from './fleet-ignores.js';
export * from './bundle-namespace.js';
