export * from './states.js';
export * from './subjects.js';
export * from './messages.js';
export * from './tokens.js';
export * from './project-root.js';
export * from './delivery.js';
export * from './signing.js';
export * from './desired-sequence.js';
