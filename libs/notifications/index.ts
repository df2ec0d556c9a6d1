// Notifications: hub events → notification events, rules, targets' payloads (generic JSON,
// CloudEvents, Slack, Teams, forge commit statuses), HMAC signing, retry back-off, and the
// destination checks that keep the hub from being used against private addresses (SSRF).

export * from './backoff.js';
export * from './destination.js';
export * from './events.js';
export * from './payloads.js';
export * from './rules.js';
export * from './signing.js';
export * from './supersede.js';
export * from './targets.js';
