export * from './message-split.js';
export * from './sync-diff.js';
