import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  type NatsConnection,
  PermissionViolationError,
  connect,
  credsAuthenticator,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubjects } from '../contracts/subjects.js';
import { startNatsServer, type NatsServerHandle } from '../runtime/index.js';
import { eventually, testSubjectPrefix } from '../testing/index.js';
import { NatsAuthority, type NatsAuthKeys } from './authority.js';
import { pushAccountJwt } from './claims-update.js';
import { NATS_AUTH_FILES, ensureNatsAuthDir } from './files.js';

const creds = (text: string) => credsAuthenticator(new TextEncoder().encode(text));

/** The first permission violation the connection reports, for `subject`. */
async function violation(nc: NatsConnection, subject: string): Promise<PermissionViolationError> {
  for await (const status of nc.status()) {
    if (
      status.type === 'error' &&
      status.error instanceof PermissionViolationError &&
      status.error.subject === subject
    ) {
      return status.error;
    }
  }
  throw new Error('connection closed without a permission violation');
}

describe('NATS auth against a real nats-server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-nats-auth-'));
  const authDir = join(dataDir, 'nats-auth');
  const subjects = createSubjects(testSubjectPrefix());
  const connections: NatsConnection[] = [];
  let server: NatsServerHandle;
  let authority: NatsAuthority;
  let systemCreds: string;
  let keys: NatsAuthKeys;

  const login = async (credentials: string, inboxPrefix?: string): Promise<NatsConnection> => {
    const nc = await connect({
      servers: server.url,
      authenticator: creds(credentials),
      inboxPrefix,
      reconnect: false,
    });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    const dir = await ensureNatsAuthDir(authDir, join(dataDir, 'nats', 'jwt'));
    keys = dir.keys;
    authority = NatsAuthority.fromKeys(keys);
    server = await startNatsServer({
      dataDir,
      configFile: dir.serverConfigFile,
      authenticator: creds(await authority.hubCredentials()),
    });
    systemCreds = await authority.systemCredentials();
  });

  afterAll(async () => {
    for (const nc of connections) if (!nc.isClosed()) await nc.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the secrets readable by the owner only, and reads the same keys again', async () => {
    expect(statSync(join(authDir, NATS_AUTH_FILES.keys)).mode & 0o777).toBe(0o600);
    expect(statSync(join(authDir, NATS_AUTH_FILES.operatorSeed)).mode & 0o777).toBe(0o600);
    const again = await ensureNatsAuthDir(authDir, join(dataDir, 'nats', 'jwt'));
    expect(again.created).toBe(false);
    expect(NatsAuthority.fromKeys(again.keys).accountPublicKey).toBe(authority.accountPublicKey);
  });

  it('refuses connections without credentials', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(
      /Authorization Violation/i,
    );
  });

  it('lets the hub user use JetStream in the Flotilla account', async () => {
    const hub = await login(await authority.hubCredentials());
    const jsm = await jetstreamManager(hub);
    const info = await jsm.getAccountInfo();
    expect(info.limits).toBeDefined();
  });

  it("confines an agent to its own subjects: no other cluster's desired state, no other cluster's status", async () => {
    const hub = await login(await authority.hubCredentials());
    const a = await authority.agentCredentials(subjects, 'a', 'hash-of-token-a');
    const agentA = await login(a.credentials, a.inboxPrefix);

    // Subscribing to B's desired state is refused by the server.
    const refusedSub = violation(agentA, subjects.desired('b'));
    const sub = agentA.subscribe(subjects.desired('b'));
    expect((await refusedSub).operation).toBe('subscription');
    expect(await sub.closed).toBeInstanceOf(PermissionViolationError);

    // Publishing B's status is refused, and the hub never sees it.
    const spy = hub.subscribe(subjects.allStatus());
    const seen: string[] = [];
    void (async () => {
      for await (const m of spy) seen.push(m.subject);
    })();
    await hub.flush();
    const refusedPub = violation(agentA, subjects.status('b'));
    agentA.publish(subjects.status('b'), 'forged');
    expect((await refusedPub).operation).toBe('publish');

    // Its own traffic works: requests to the hub are answered on its inbox.
    hub.subscribe(subjects.sync('a'), {
      callback: (_err, m) => {
        m.respond('synced');
      },
    });
    await hub.flush();
    const reply = await agentA.request(subjects.sync('a'), 'sync please', { timeout: 60_000 });
    expect(reply.string()).toBe('synced');
    const own = agentA.subscribe(subjects.desired('a'), { max: 1 });
    await agentA.flush();
    hub.publish(subjects.desired('a'), 'desired');
    for await (const m of own) expect(m.string()).toBe('desired');
    agentA.publish(subjects.status('a'), 'ok');
    await agentA.flush();
    await eventually(
      'own status seen',
      () => Promise.resolve(seen),
      (s) => s.length > 0,
    );
    expect(seen).toEqual([subjects.status('a')]);
  });

  it('disconnects and refuses an agent once its user is revoked by an account update', async () => {
    const a = await authority.agentCredentials(subjects, 'revoked', 'hash-revoked');
    const other = await authority.agentCredentials(subjects, 'kept', 'hash-kept');
    const agent = await login(a.credentials, a.inboxPrefix);
    const kept = await login(other.credentials, other.inboxPrefix);

    await pushAccountJwt(server.url, systemCreds, await authority.accountJwt([a.userPublicKey]));

    expect(await agent.closed()).toBeDefined();
    await expect(login(a.credentials, a.inboxPrefix)).rejects.toThrow(/Authorization Violation/i);
    // Credentials minted again for the same token are refused too.
    const again = await authority.agentCredentials(subjects, 'revoked', 'hash-revoked');
    await expect(login(again.credentials, again.inboxPrefix)).rejects.toThrow(
      /Authorization Violation/i,
    );
    await kept.flush();
    expect(kept.isClosed()).toBe(false);
  });

  it('keeps revocations across a server restart, even with the preload of the first start', async () => {
    const revoked = await authority.agentCredentials(subjects, 'r2', 'hash-r2');
    await pushAccountJwt(
      server.url,
      systemCreds,
      await authority.accountJwt([authority.agentUserKey('hash-revoked'), revoked.userPublicKey]),
    );
    await server.stop();
    const dir = await ensureNatsAuthDir(authDir, join(dataDir, 'nats', 'jwt'));
    server = await startNatsServer({
      dataDir,
      configFile: dir.serverConfigFile,
      authenticator: creds(await authority.hubCredentials()),
    });
    await expect(login(revoked.credentials, revoked.inboxPrefix)).rejects.toThrow(
      /Authorization Violation/i,
    );
    const fresh = await authority.agentCredentials(subjects, 'r2', 'hash-r2-rotated');
    const nc = await login(fresh.credentials, fresh.inboxPrefix);
    await nc.flush();
  });

  it('reports an account JWT the server refuses', async () => {
    await expect(pushAccountJwt(server.url, systemCreds, 'not a JWT')).rejects.toThrow(
      /the NATS server refused the account JWT: .+/,
    );
  });
});
