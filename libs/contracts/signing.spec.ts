import { describe, expect, it } from 'vitest';
import {
  PayloadSigner,
  PayloadVerifier,
  contentDigest,
  generateSigningKeyPair,
} from './signing.js';

const keys = generateSigningKeyPair();
const other = generateSigningKeyPair();
const signer = new PayloadSigner(keys.privateKeyPem);
const verifier = new PayloadVerifier(keys.publicKeyPem);
const payload = Buffer.from('{"kind":"Upsert","bundle":"demo/web"}');
const signature = signer.sign(payload);

describe('signed desired state', () => {
  it.each([
    {
      name: 'the hub signature of the exact bytes verifies',
      data: payload,
      sig: signature,
      ok: true,
    },
    {
      name: 'a tampered payload is refused',
      data: Buffer.from('{"kind":"Upsert","bundle":"demo/evil"}'),
      sig: signature,
      ok: false,
    },
    { name: 'an unsigned payload is refused', data: payload, sig: undefined, ok: false },
    {
      name: 'a signature by another key is refused',
      data: payload,
      sig: new PayloadSigner(other.privateKeyPem).sign(payload),
      ok: false,
    },
    {
      name: 'garbage in the signature header is refused',
      data: payload,
      sig: 'not base64 at all',
      ok: false,
    },
  ])('$name', ({ data, sig, ok }) => {
    expect(verifier.verify(data, sig)).toBe(ok);
  });

  it('signing off the event loop makes the same signature, which verifies', async () => {
    const signed = await signer.signAsync(payload);
    expect(signed).toBe(signature);
    expect(verifier.verify(payload, signed)).toBe(true);
  });

  it('the signer derives the public key the agent pins', () => {
    expect(signer.publicKeyPem).toBe(keys.publicKeyPem);
  });

  it('content digests are sha256 hex of the bytes', () => {
    expect(contentDigest(Buffer.from('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
