import { fromSeed, type KeyPair } from '@nats-io/nkeys';

// The nkeys library creates key pairs only from random bytes or from an encoded seed. A user key
// derived from a secret (see NatsAuthority.agentUserKey) needs its seed encoded here, exactly as
// nkeys does: two prefix bytes (seed kind and key role), the 32 raw bytes, a CRC-16 (XMODEM,
// little endian), all in RFC 4648 base32 without padding.

/** nkeys prefix bytes: a seed, and the role of the key it makes. */
const PREFIX_SEED = 18 << 3;
/** The nkey roles this module derives keys for. */
export const NKEY_ROLE = { user: 20 << 3 } as const;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** CRC-16/XMODEM (polynomial 0x1021, initial value 0), bit by bit: inputs are 34 bytes. */
export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** RFC 4648 base32, upper case, without padding (as nkeys writes it). */
export function base32(data: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The encoded seed (`S…`) of an nkey of `role` whose ed25519 seed is `raw` (32 bytes). */
export function encodeSeed(role: number, raw: Uint8Array): string {
  if (raw.byteLength !== 32) throw new Error(`an nkey seed is 32 bytes, not ${raw.byteLength}`);
  const bytes = new Uint8Array(2 + 32 + 2);
  bytes[0] = PREFIX_SEED | (role >> 5);
  bytes[1] = (role & 31) << 3;
  bytes.set(raw, 2);
  const checksum = crc16(bytes.subarray(0, 34));
  bytes[34] = checksum & 0xff;
  bytes[35] = checksum >> 8;
  return base32(bytes);
}

/** The user key pair whose ed25519 seed is `raw` (32 bytes). */
export function userKeyFromRaw(raw: Uint8Array): KeyPair {
  return fromSeed(new TextEncoder().encode(encodeSeed(NKEY_ROLE.user, raw)));
}
