export * from './reply-subject.js';
export * from './rate-limit.js';
export * from './limits.js';
export * from './keyed-limiter.js';
