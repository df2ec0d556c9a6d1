import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** A destination the hub refuses to send to (a scheme or an address), with the reason. */
export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError';
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses
  ['2002::', 16], // 6to4: reaches IPv4 addresses
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether `address` (an IP literal) is loopback, private, link-local or otherwise not a public
 * unicast address; IPv4-mapped IPv6 addresses are judged by their IPv4 address.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return blocked.check(mapped[1], 'ipv4');
  if (/^::ffff:/i.test(address)) return true; // mapped, in hex form
  return blocked.check(address, 'ipv6');
}

/** What a destination may be. */
export interface DestinationPolicy {
  /** Plain http allowed (else https only). */
  allowHttp: boolean;
  /** Loopback and private addresses allowed (FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/**
 * Checks a URL before anything is sent: http(s) only, https unless allowed, no credentials in
 * it, and no IP-literal host that is private unless allowed. Host names are checked when they
 * are resolved ({@link guardedLookup}).
 *
 * @throws DestinationRefusedError
 */
export function checkUrl(text: string, policy: DestinationPolicy): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DestinationRefusedError(`"${redactUrl(text)}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DestinationRefusedError(`${url.protocol} URLs are not supported: use https`);
  }
  if (url.protocol === 'http:' && !policy.allowHttp) {
    throw new DestinationRefusedError(
      `plain http is refused for ${url.host}: use https, or allow http on the target (allowHttp)`,
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !policy.allowPrivate && isPrivateAddress(host)) {
    throw new DestinationRefusedError(privateMessage(host, host));
  }
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** The signature of `dns.lookup` as `http.request({ lookup })` calls it. */
export type LookupFunction = (
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: LookupCallback,
) => void;

/**
 * A `lookup` for `http.request` that resolves every address of the host and refuses the
 * connection when any of them is private (unless allowed): the connection then goes to an
 * address that was checked, so DNS answers that change between check and use do not matter.
 */
export function guardedLookup(
  allowPrivate: boolean,
  resolve: (hostname: string) => Promise<LookupAddress[]> = (h) =>
    new Promise((ok, fail) =>
      dnsLookup(h, { all: true }, (err, addresses) => (err ? fail(err) : ok(addresses))),
    ),
): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const refused = allowPrivate ? [] : addresses.filter((a) => isPrivateAddress(a.address));
        if (refused.length > 0) {
          callback(
            new DestinationRefusedError(privateMessage(hostname, refused[0]?.address ?? '')),
            [],
          );
          return;
        }
        if (addresses.length === 0) {
          callback(new DestinationRefusedError(`${hostname} has no address`), []);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]?.address ?? '', addresses[0]?.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

function privateMessage(host: string, address: string): string {
  return `${host} resolves to ${address}, a loopback/private address: refused (set FLOTILLA_NOTIFICATIONS_ALLOW_PRIVATE=true to allow)`;
}

/** A URL with its path, query and credentials left out (they may hold tokens). */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return '<invalid URL>';
  }
}
