import { decode, type Account, type ClaimsData, type Operator, type User } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSubjects } from '../contracts/subjects.js';
import {
  ACCOUNT_NAME,
  NatsAuthority,
  REVOKED_FOREVER,
  SYSTEM_ACCOUNT_NAME,
  generateNatsAuth,
  type GeneratedNatsAuth,
  type NatsAuthKeys,
} from './authority.js';

const seed = (kp: { getSeed(): Uint8Array }) => new TextDecoder().decode(kp.getSeed());

/** The claims of a `.creds` file's JWT, and its seed. */
function parseCreds(creds: string): { claims: ClaimsData<User>; seed: string } {
  const blocks = [...creds.matchAll(/-----BEGIN [^-]+-----\n(.+)\n------END [^-]+------/g)];
  expect(blocks.map((b) => b[0].split('\n')[0])).toEqual([
    '-----BEGIN NATS USER JWT-----',
    '-----BEGIN USER NKEY SEED-----',
  ]);
  return { claims: decode<User>(blocks[0]![1]!), seed: blocks[1]![1]! };
}

let generated: GeneratedNatsAuth;
let authority: NatsAuthority;
let operatorSigningKey: string;

beforeAll(async () => {
  generated = await generateNatsAuth();
  authority = NatsAuthority.fromKeys(generated.keys);
  operatorSigningKey = decode<Operator>(generated.operatorJwt).nats.signing_keys![0] as string;
});

describe('generateNatsAuth', () => {
  it('makes a self-signed operator with a separate signing key and the system account', () => {
    const operator = decode<Operator>(generated.operatorJwt);
    expect(operator.iss).toBe(operator.sub);
    expect(operator.sub).toMatch(/^O/);
    expect(operatorSigningKey).toMatch(/^O/);
    expect(operatorSigningKey).not.toBe(operator.sub);
    expect(operator.nats.system_account).toBe(generated.systemAccountPublicKey);
    expect(generated.operatorSeed).toMatch(/^SO/);
    // The hub never holds the operator's identity key.
    expect(Object.values(generated.keys)).not.toContain(generated.operatorSeed);
  });

  it.each<[string, () => string, string]>([
    ['the system account', () => generated.systemAccountPublicKey, SYSTEM_ACCOUNT_NAME],
    ['the Flotilla account', () => generated.accountPublicKey, ACCOUNT_NAME],
  ])('preloads %s, signed by the operator signing key', (_name, key, name) => {
    const claims = decode<Account>(generated.accountJwts[key()]!);
    expect(claims.sub).toBe(key());
    expect(claims.name).toBe(name);
    expect(claims.iss).toBe(operatorSigningKey);
    expect(claims.nats.limits?.conn).toBe(-1);
  });

  it('enables JetStream in the Flotilla account only', () => {
    const flotilla = decode<Account>(generated.accountJwts[generated.accountPublicKey]!);
    expect(flotilla.nats.limits).toMatchObject({ disk_storage: -1, mem_storage: -1, streams: -1 });
    const system = decode<Account>(generated.accountJwts[generated.systemAccountPublicKey]!);
    expect(system.nats.limits?.disk_storage).toBeUndefined();
  });
});

describe('NatsAuthority', () => {
  const subjects = createSubjects('t1.xabc');

  it('issues every account JWT in a later second than the one before, also from another authority (nats-server lets a JWT of the same second replace a stored one)', async () => {
    const first = decode<Account>(generated.accountJwts[generated.accountPublicKey]!);
    const other = NatsAuthority.fromKeys(generated.keys);
    const issued = [
      await authority.accountJwt(['U1']),
      await other.accountJwt(['U1', 'U2']),
      await authority.accountJwt([]),
    ].map((jwt) => decode<Account>(jwt).iat);
    expect(issued[0]).toBeGreaterThan(first.iat);
    expect(issued[1]).toBeGreaterThan(issued[0]!);
    expect(issued[2]).toBeGreaterThan(issued[1]!);
  });

  it("issues an agent's user: signed by the account, limited to its own subjects and inbox", async () => {
    const issued = await authority.agentCredentials(subjects, 'eu-1', 'hash-1');
    const { claims, seed: userSeed } = parseCreds(issued.credentials);
    expect(claims.iss).toBe(generated.accountPublicKey);
    expect(claims.sub).toBe(issued.userPublicKey);
    expect(claims.name).toBe('flotilla-agent/eu-1');
    expect(claims.nats.pub).toEqual({ allow: ['t1.xabc.flotilla.hub.eu-1.>'] });
    expect(claims.nats.sub).toEqual({
      allow: ['t1.xabc.flotilla.agent.eu-1.>', '_INBOX.t1.xabc.flotilla.agent.eu-1.>'],
    });
    expect(claims.exp).toBeUndefined();
    expect(userSeed).toMatch(/^SU/);
    expect(issued.inboxPrefix).toBe('_INBOX.t1.xabc.flotilla.agent.eu-1');
  });

  it.each<[string, () => boolean | Promise<boolean>]>([
    [
      'the same token gets the same user, whoever issues it',
      async () =>
        (await authority.agentCredentials(subjects, 'a', 'h')).userPublicKey ===
        NatsAuthority.fromKeys(generated.keys).agentUserKey('h'),
    ],
    [
      'another token gets another user',
      () => authority.agentUserKey('h1') !== authority.agentUserKey('h2'),
    ],
    [
      'another account (other keys) gets another user for the same token',
      () =>
        NatsAuthority.fromKeys({
          ...generated.keys,
          accountSeed: seed(createAccount()),
        }).agentUserKey('h') !== authority.agentUserKey('h'),
    ],
  ])('agent user keys: %s', async (_name, holds) => {
    expect(await holds()).toBe(true);
  });

  it('refuses to derive a user from an empty token hash', () => {
    expect(() => authority.agentUserKey('')).toThrow(/needs a token hash/);
  });

  it('issues a hub user with full access in the account, a new one each time', async () => {
    const first = parseCreds(await authority.hubCredentials()).claims;
    const second = parseCreds(await authority.hubCredentials()).claims;
    expect(first.iss).toBe(generated.accountPublicKey);
    expect(first.nats.pub?.allow ?? []).toEqual([]);
    expect(first.nats.sub?.allow ?? []).toEqual([]);
    expect(first.sub).not.toBe(second.sub);
  });

  it('issues system users signed by the system account', async () => {
    const { claims } = parseCreds(await authority.systemCredentials());
    expect(claims.iss).toBe(generated.systemAccountPublicKey);
  });

  it.each<[string, string[], Record<string, number> | undefined]>([
    ['no revocations: none listed', [], undefined],
    [
      'every revoked user, sorted, revoked forever',
      ['UZZZ', 'UAAA'],
      { UAAA: REVOKED_FOREVER, UZZZ: REVOKED_FOREVER },
    ],
  ])('the account JWT: %s', async (_name, revoked, expected) => {
    const claims = decode<Account>(await authority.accountJwt(revoked));
    expect(claims.sub).toBe(generated.accountPublicKey);
    expect(claims.iss).toBe(operatorSigningKey);
    expect(claims.nats.revocations).toEqual(expected);
    expect(claims.nats.limits?.disk_storage).toBe(-1);
  });

  it.each<[string, Partial<NatsAuthKeys>, RegExp]>([
    ['garbage', { accountSeed: 'not-a-seed' }, /^accountSeed: not an nkey seed/],
    [
      'a user seed as account key',
      { accountSeed: seed(createUser()) },
      /^accountSeed: not an account seed/,
    ],
    [
      'an account seed as operator signing key',
      { operatorSigningSeed: seed(createAccount()) },
      /^operatorSigningSeed: not an operator seed/,
    ],
    [
      'an operator seed as system account key',
      { systemAccountSeed: seed(createOperator()) },
      /^systemAccountSeed: not an account seed/,
    ],
  ])('refuses keys: %s', (_name, change, message) => {
    expect(() => NatsAuthority.fromKeys({ ...generated.keys, ...change })).toThrow(message);
  });
});
