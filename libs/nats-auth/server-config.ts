/** What a nats-server needs to trust Flotilla's operator (see {@link natsServerConfig}). */
export interface NatsServerAuthConfig {
  operatorJwt: string;
  systemAccountPublicKey: string;
  /** Account JWTs by public key, loaded into the resolver when it holds none newer. */
  accountJwts: Record<string, string>;
  /**
   * Where the server's resolver keeps account JWTs: every server of a cluster needs its own.
   * A relative path is relative to the server's working directory.
   */
  resolverDir: string;
}

/** A quoted string of the nats-server configuration language (JSON escapes are accepted). */
const quote = (value: string): string => JSON.stringify(value);

/**
 * The authentication part of a nats-server configuration: trust the operator, name the system
 * account, and keep account JWTs in a `full` resolver (a directory, replicated between the
 * servers of a cluster), preloaded with the initial account JWTs. Updates (the hub's revocations)
 * arrive at runtime over `$SYS.REQ.CLAIMS.UPDATE` and are kept in the directory; a preload never
 * replaces a newer stored JWT, so this text can stay as it was generated.
 */
export function natsServerConfig(config: NatsServerAuthConfig): string {
  const preload = Object.entries(config.accountJwts)
    .map(([key, jwt]) => `  ${key}: ${quote(jwt)}`)
    .join('\n');
  return [
    '# Flotilla: NATS decentralized JWT authentication (operator -> accounts -> users).',
    '# Generated; include it in the nats-server configuration of every server of the cluster.',
    `operator: ${quote(config.operatorJwt)}`,
    `system_account: ${config.systemAccountPublicKey}`,
    'resolver: {',
    '  type: full',
    `  dir: ${quote(config.resolverDir)}`,
    '  allow_delete: false',
    '  interval: "2m"',
    '  timeout: "1.9s"',
    '}',
    'resolver_preload: {',
    preload,
    '}',
    '',
  ].join('\n');
}
