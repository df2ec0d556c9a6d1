import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';

/** NATS header carrying the hub's ed25519 signature (base64) over the exact payload bytes. */
export const SIGNATURE_HEADER = 'Flotilla-Signature';

/** A fresh ed25519 key pair for the hub, as PEM. */
export function generateSigningKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Signs payloads with the hub's private key. */
export class PayloadSigner {
  private readonly key;
  readonly publicKeyPem: string;

  constructor(privateKeyPem: string) {
    this.key = createPrivateKey(privateKeyPem);
    this.publicKeyPem = createPublicKey(this.key)
      .export({ type: 'spki', format: 'pem' })
      .toString();
  }

  /** Base64 ed25519 signature of `data`. */
  sign(data: Uint8Array): string {
    return sign(null, data, this.key).toString('base64');
  }

  /**
   * {@link sign} on libuv's thread pool: the same signature, made off the event loop (many
   * messages signed at once use the cores the event loop does not).
   */
  signAsync(data: Uint8Array): Promise<string> {
    return new Promise((resolve, reject) => {
      sign(null, data, this.key, (err, signature) => {
        if (err) reject(err);
        else resolve(signature.toString('base64'));
      });
    });
  }
}

/** Verifies payloads against the hub's pinned public key. */
export class PayloadVerifier {
  private readonly key;

  constructor(publicKeyPem: string) {
    this.key = createPublicKey(publicKeyPem);
  }

  /** True when `signature` (base64) is the hub's signature of exactly `data`. */
  verify(data: Uint8Array, signature: string | undefined): boolean {
    if (!signature) return false;
    try {
      return verify(null, data, this.key, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }
}

/** sha256 (hex) of content bytes; desired-state messages carry it, signed, for the content they name. */
export function contentDigest(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
