export * from './message-split.js';
export * from './sync-diff.js';
export * from './resend-schedule.js';
