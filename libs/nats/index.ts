export * from './json.js';
export * from './streams.js';
