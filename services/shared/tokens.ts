/** Injection tokens of the providers every hub service shares. */
export const HUB_CONFIG = Symbol('HUB_CONFIG');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const SUBJECTS = Symbol('SUBJECTS');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
/** The hub's PayloadSigner (desired state is signed with it). */
export const SIGNER = Symbol('SIGNER');
