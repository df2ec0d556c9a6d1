import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decode,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type Account,
  type OperatorLimits,
  type Permissions,
} from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import type { Subjects } from '../contracts/subjects.js';
import { userKeyFromRaw } from './nkey-seed.js';
import { agentPermissions } from './permissions.js';

// Decentralized JWT authentication, as nsc sets it up: an operator (whose identity key stays
// offline) vouches, through its signing key, for two accounts: the system account (server
// administration; the hub uses it only to push account updates) and the Flotilla account, where
// all of Flotilla's traffic and JetStream live. Users of the Flotilla account are signed by the
// account key: one for the hub (full access in the account) and one per agent (its own subjects).

/** Name of the operator in its JWT. */
export const OPERATOR_NAME = 'flotilla';
/** Name of the account every Flotilla connection lives in. */
export const ACCOUNT_NAME = 'flotilla';
/** Name of the system account. */
export const SYSTEM_ACCOUNT_NAME = 'SYS';

/**
 * The revocation time the hub writes for an agent's user key: NATS refuses every JWT of that key
 * issued at or before it. Agent user keys are never reissued once revoked (each belongs to one
 * agent token), so "forever" is right, and no clock skew between hub replicas or a bootstrap that
 * races a revocation can produce credentials that outlive it.
 */
export const REVOKED_FOREVER = 253_402_300_799; // 9999-12-31T23:59:59Z

/** The secrets the hub needs (kept in `hub-keys.json` of the NATS auth directory). */
export interface NatsAuthKeys {
  /** Signs account JWTs (`SO…`); listed as a signing key in the operator JWT. */
  operatorSigningSeed: string;
  /** The system account's key (`SA…`): signs the hub's short-lived system user. */
  systemAccountSeed: string;
  /** The Flotilla account's key (`SA…`): signs hub and agent users, and derives agent keys. */
  accountSeed: string;
}

/** Everything made by {@link generateNatsAuth}: the hub's keys and what the servers need. */
export interface GeneratedNatsAuth {
  keys: NatsAuthKeys;
  /** The operator's identity seed (`SO…`): not used by the hub; keep it offline. */
  operatorSeed: string;
  /** The operator JWT (self-signed) for the server configuration. */
  operatorJwt: string;
  systemAccountPublicKey: string;
  accountPublicKey: string;
  /** Initial account JWTs, preloaded into the servers' resolver, by account public key. */
  accountJwts: Record<string, string>;
}

/** Unlimited connections, subscriptions, imports, exports and data (server limits still hold). */
const UNLIMITED: OperatorLimits = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

/** The Flotilla account runs JetStream (the status stream): unlimited within the server's own. */
const JETSTREAM_ENABLED: OperatorLimits = {
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const seedOf = (kp: KeyPair): string => text(kp.getSeed());

/** Makes new keys: operator (with a signing key), system account and Flotilla account. */
export async function generateNatsAuth(): Promise<GeneratedNatsAuth> {
  const operator = createOperator();
  const operatorSigning = createOperator();
  const system = createAccount();
  const account = createAccount();
  const keys: NatsAuthKeys = {
    operatorSigningSeed: seedOf(operatorSigning),
    systemAccountSeed: seedOf(system),
    accountSeed: seedOf(account),
  };
  const operatorJwt = await encodeOperator(OPERATOR_NAME, operator, {
    signing_keys: [operatorSigning.getPublicKey()],
    system_account: system.getPublicKey(),
  });
  const authority = NatsAuthority.fromKeys(keys);
  return {
    keys,
    operatorSeed: seedOf(operator),
    operatorJwt,
    systemAccountPublicKey: authority.systemAccountPublicKey,
    accountPublicKey: authority.accountPublicKey,
    accountJwts: {
      [authority.systemAccountPublicKey]: await authority.systemAccountJwt(),
      [authority.accountPublicKey]: await authority.accountJwt([]),
    },
  };
}

/** An agent's NATS login, as `POST /api/v1/agent/bootstrap` hands it out. */
export interface AgentCredentials {
  /** A `.creds` file: the user JWT and the user's nkey seed. */
  credentials: string;
  inboxPrefix: string;
  /** The user's public key (`U…`), the one a revocation names. */
  userPublicKey: string;
}

/**
 * The hub's side of NATS authentication: issues user credentials and account JWTs with the keys
 * of {@link NatsAuthKeys}. Stateless: what is revoked is the caller's to keep (PostgreSQL).
 */
export class NatsAuthority {
  readonly accountPublicKey: string;
  readonly systemAccountPublicKey: string;
  private readonly operatorSigning: KeyPair;
  private readonly system: KeyPair;
  private readonly account: KeyPair;
  /** Key of the HMAC that derives agent user keys; itself derived from the account seed. */
  private readonly derivationKey: Buffer;

  private constructor(keys: NatsAuthKeys) {
    this.operatorSigning = seedKey(keys.operatorSigningSeed, 'O', 'operatorSigningSeed');
    this.system = seedKey(keys.systemAccountSeed, 'A', 'systemAccountSeed');
    this.account = seedKey(keys.accountSeed, 'A', 'accountSeed');
    this.accountPublicKey = this.account.getPublicKey();
    this.systemAccountPublicKey = this.system.getPublicKey();
    this.derivationKey = createHmac('sha256', keys.accountSeed)
      .update('flotilla/nats-agent-user-keys/v1')
      .digest();
  }

  /** @throws Error naming the field when a seed is malformed or of the wrong kind */
  static fromKeys(keys: NatsAuthKeys): NatsAuthority {
    return new NatsAuthority(keys);
  }

  /** The system account's JWT, signed by the operator's signing key. */
  systemAccountJwt(): Promise<string> {
    return encodeAccount(
      SYSTEM_ACCOUNT_NAME,
      this.system.getPublicKey(),
      { limits: UNLIMITED },
      { signer: this.operatorSigning },
    );
  }

  /**
   * The Flotilla account's JWT with JetStream enabled and every given user key revoked. Each
   * update replaces the whole JWT, so it must always list every revocation.
   */
  async accountJwt(revokedUserKeys: Iterable<string>): Promise<string> {
    const revocations: Record<string, number> = {};
    for (const key of [...revokedUserKeys].sort()) revocations[key] = REVOKED_FOREVER;
    const claims: Partial<Account> = { limits: { ...UNLIMITED, ...JETSTREAM_ENABLED } };
    if (Object.keys(revocations).length > 0) claims.revocations = revocations;
    return issueInOrder(() =>
      encodeAccount(ACCOUNT_NAME, this.account.getPublicKey(), claims, {
        signer: this.operatorSigning,
      }),
    );
  }

  /** Credentials of a new hub user: everything within the Flotilla account. */
  hubCredentials(name = 'flotilla-hub'): Promise<string> {
    return this.credentials(name, createUser(), this.account, {});
  }

  /** Credentials of a new system-account user, for `$SYS.REQ.CLAIMS.UPDATE`. */
  systemCredentials(name = 'flotilla-hub-system'): Promise<string> {
    return this.credentials(name, createUser(), this.system, {});
  }

  /**
   * The public key of the agent user that belongs to one agent token (by its stored hash). The
   * key is derived (HMAC with a key only the hub has), so every replica issues the same user for
   * the same token without storing a seed, and revoking the token's user needs only its hash.
   */
  agentUserKey(tokenHash: string): string {
    return this.agentUser(tokenHash).getPublicKey();
  }

  /** Credentials for the agent of `cluster` running with the agent token of hash `tokenHash`. */
  async agentCredentials(
    subjects: Subjects,
    cluster: string,
    tokenHash: string,
  ): Promise<AgentCredentials> {
    const permissions = agentPermissions(subjects, cluster);
    const user = this.agentUser(tokenHash);
    const credentials = await this.credentials(`flotilla-agent/${cluster}`, user, this.account, {
      pub: { allow: permissions.publish },
      sub: { allow: permissions.subscribe },
    });
    return {
      credentials,
      inboxPrefix: permissions.inboxPrefix,
      userPublicKey: user.getPublicKey(),
    };
  }

  private agentUser(tokenHash: string): KeyPair {
    if (tokenHash === '') throw new Error('an agent user key needs a token hash');
    const raw = createHmac('sha256', this.derivationKey).update(tokenHash).digest();
    return userKeyFromRaw(new Uint8Array(raw));
  }

  private async credentials(
    name: string,
    user: KeyPair,
    issuer: KeyPair,
    permissions: Permissions,
  ): Promise<string> {
    const jwt = await encodeUser(name, user, issuer, permissions);
    return text(fmtCreds(jwt, user));
  }
}

/** The key pair of an encoded seed, checking it is a seed of the expected kind. */
function seedKey(seed: string, kind: 'O' | 'A', field: string): KeyPair {
  let kp: KeyPair;
  try {
    kp = fromSeed(new TextEncoder().encode(seed));
  } catch (err) {
    throw new Error(`${field}: not an nkey seed (${(err as Error).message})`, { cause: err });
  }
  if (!kp.getPublicKey().startsWith(kind)) {
    const what = kind === 'O' ? 'an operator' : 'an account';
    throw new Error(`${field}: not ${what} seed (S${kind}…)`);
  }
  return kp;
}

/** The issue time (seconds) of the newest account JWT this process issued. */
let lastAccountIat = 0;
let issuing: Promise<unknown> = Promise.resolve();

/**
 * Issues account JWTs one at a time, each in a later second than the one before: JWT issue times
 * are whole seconds, and nats-server lets a JWT of the same second replace a stored one — at a
 * restart, the preload of the first start (no revocations) replaced an update issued in that
 * same second, and revoked agents could connect again.
 */
function issueInOrder(issue: () => Promise<string>): Promise<string> {
  const next = issuing.then(async () => {
    const waitMs = (lastAccountIat + 1) * 1000 - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    const jwt = await issue();
    lastAccountIat = decode(jwt).iat;
    return jwt;
  });
  issuing = next.catch(() => undefined);
  return next;
}
