import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NatsConnection, connect, credsAuthenticator } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubjects, type BootstrapResponse } from '../../libs/contracts/index.js';
import { generateSigningKeyPair } from '../../libs/contracts/signing.js';
import { NatsAuthority, ensureNatsAuthDir, pushAccountJwt } from '../../libs/nats-auth/index.js';
import { startNatsServer, type NatsServerHandle } from '../../libs/runtime/index.js';
import { eventually, testSubjectPrefix } from '../../libs/testing/index.js';
import { SimulatedCluster, startAgent, type RunningAgent } from './index.js';

const creds = (text: string) => credsAuthenticator(new TextEncoder().encode(text));

describe('an agent whose NATS credentials are refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-agent-nats-auth-'));
  const prefix = testSubjectPrefix();
  const subjects = createSubjects(prefix);
  const hubKeyPem = generateSigningKeyPair().publicKeyPem;
  let server: NatsServerHandle;
  let authority: NatsAuthority;
  let observer: NatsConnection;
  let hub: Server;
  let agent: RunningAgent | undefined;
  let removed: RunningAgent | undefined;
  /** What the fake hub's bootstrap answers: credentials of the user of this token hash, or 401. */
  let issueFor: { tokenHash: string } | 'refuse' = { tokenHash: 'token-1' };
  let bootstraps = 0;
  /** The hub answers 401 to every bootstrap after this many (the cluster was deleted). */
  let refuseAfter = Infinity;
  const heartbeats: number[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    const auth = await ensureNatsAuthDir(join(root, 'nats-auth'), 'jwt');
    authority = NatsAuthority.fromKeys(auth.keys);
    server = await startNatsServer({
      dataDir: join(root, 'nats'),
      configFile: auth.serverConfigFile,
      authenticator: creds(await authority.hubCredentials()),
    });
    observer = await connect({
      servers: server.url,
      authenticator: creds(await authority.hubCredentials()),
    });
    observer.subscribe(subjects.heartbeat('edge'), {
      callback: () => {
        heartbeats.push(Date.now());
      },
    });
    await observer.flush();
    hub = createServer((req, res) => {
      void (async () => {
        bootstraps++;
        if (issueFor === 'refuse' || bootstraps > refuseAfter) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ statusCode: 401, error: 'Unauthorized', message: 'revoked' }));
          return;
        }
        const issued = await authority.agentCredentials(subjects, 'edge', issueFor.tokenHash);
        const body: BootstrapResponse = {
          cluster: 'edge',
          natsUrl: server.url,
          subjectPrefix: prefix,
          heartbeatIntervalMs: 200,
          hubPublicKey: hubKeyPem,
          credentials: issued.credentials,
          inboxPrefix: issued.inboxPrefix,
        };
        res.writeHead(req.url === '/api/v1/agent/bootstrap' ? 200 : 404, {
          'content-type': 'application/json',
        });
        res.end(JSON.stringify(body));
      })();
    });
    hub.listen(0, '127.0.0.1');
    await once(hub, 'listening');
  });

  afterAll(async () => {
    await agent?.stop();
    await removed?.stop();
    await observer?.close();
    hub?.closeAllConnections();
    hub?.close();
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('bootstraps again and carries on with new credentials; logs the refusal when the hub has none', async () => {
    agent = await startAgent({
      hubUrl: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
      token: 'fla_test',
      driver: new SimulatedCluster(),
      stateDir: join(root, 'state'),
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
    });
    await eventually(
      'a heartbeat',
      () => Promise.resolve(heartbeats.length),
      (n) => n > 0,
    );

    // Its user is revoked while the hub would issue another (e.g. the hub's keys changed).
    issueFor = { tokenHash: 'token-2' };
    const revoking = await authority.accountJwt([authority.agentUserKey('token-1')]);
    await pushAccountJwt(server.url, await authority.systemCredentials(), revoking);
    // Taken once the server has the revocation (issuing the JWT may wait for the next second):
    // heartbeats after it come over the new credentials.
    const revokedAt = Date.now();
    await eventually(
      'a heartbeat with the new credentials',
      () => Promise.resolve(heartbeats.filter((t) => t > revokedAt + 100).length),
      (n) => n > 0,
    );
    expect(bootstraps).toBeGreaterThanOrEqual(2);
    expect(logLines.join('\n')).toContain('the hub handed out new ones');

    // Revoked for good: the hub refuses the token; the agent says why, and keeps asking.
    issueFor = 'refuse';
    const before = bootstraps;
    await pushAccountJwt(
      server.url,
      await authority.systemCredentials(),
      await authority.accountJwt(['token-1', 'token-2'].map((t) => authority.agentUserKey(t))),
    );
    await eventually(
      'the refusal logged',
      () => Promise.resolve(logLines.join('\n')),
      (text) => text.includes('removed from the hub'),
    );
    expect(bootstraps).toBeGreaterThan(before);
    // The NATS client retries a refused user before it gives up: each round takes seconds.
  });

  it('once the hub refuses its token, says once that it was removed, calls onRevoked once, and asks again at the long interval without an error each time', async () => {
    await pushAccountJwt(
      server.url,
      await authority.systemCredentials(),
      await authority.accountJwt(
        ['token-1', 'token-2', 'token-3'].map((t) => authority.agentUserKey(t)),
      ),
    );
    // Bootstrapped with credentials NATS no longer accepts; the hub refuses from then on.
    issueFor = { tokenHash: 'token-3' };
    refuseAfter = bootstraps + 1;
    const lines: string[] = [];
    const revocations: string[] = [];
    removed = await startAgent({
      hubUrl: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
      token: 'fla_removed',
      driver: new SimulatedCluster(),
      stateDir: join(root, 'state-removed'),
      logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
      revokedRetryMs: 200,
      onRevoked: (err) => revocations.push(err.message),
    });
    const first = bootstraps;
    // The NATS client retries a refused user before it gives up: each round takes seconds.
    await eventually(
      'three refused bootstraps',
      () => Promise.resolve(bootstraps - first),
      (n) => n >= 3,
      { timeoutMs: 90_000 },
    );
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
      'this cluster was removed from the hub (deleted, or its agent token revoked); asking again at a long interval',
    ]);
    expect(revocations).toHaveLength(1);
    expect(revocations[0]).toMatch(/refused: hub answered 401/);
  }, 150_000);
});
