/** Injection tokens of the providers every hub service shares. */
export const HUB_CONFIG = Symbol('HUB_CONFIG');
/**
 * The hub's PostgreSQL data source (migrated). Inside the api service's module it is the api's
 * own smaller pool (FLOTILLA_API_DB_POOL), so API calls never queue behind ingest and delivery.
 */
export const DATA_SOURCE = Symbol('DATA_SOURCE');
/** The hub's main data source (FLOTILLA_DB_POOL), by a name no module overrides. */
export const MAIN_DATA_SOURCE = Symbol('MAIN_DATA_SOURCE');
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const SUBJECTS = Symbol('SUBJECTS');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
/** The hub's PayloadSigner (desired state is signed with it). */
export const SIGNER = Symbol('SIGNER');
/**
 * The hub's SecretBox (libs/secrets): encrypts secrets at rest with FLOTILLA_SECRET_KEY or the
 * key file. By the time it is injected, the key has been checked against the database.
 */
export const SECRET_BOX = Symbol('SECRET_BOX');
/**
 * The hub's NatsAuthority (libs/nats-auth), which signs NATS users with the keys of the NATS auth
 * directory; null when NATS runs without authentication (NATS_URL without FLOTILLA_NATS_AUTH_DIR).
 */
export const NATS_AUTH = Symbol('NATS_AUTH');
/**
 * The hub's clock and timers (libs/liveness `TimerClock`): `Date.now()` and unref'd Node timers;
 * tests of a service inject a fake one.
 */
export const CLOCK = Symbol('CLOCK');
