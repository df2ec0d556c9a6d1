import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, type User } from '@nats-io/jwt';
import { type NatsConnection, PermissionViolationError } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subjects } from '../../libs/contracts/index.js';
import {
  NATS_AUTH_FILES,
  type NatsAuthority,
  readNatsAuthKeys,
} from '../../libs/nats-auth/index.js';
import type { NatsServerHandle } from '../../libs/runtime/index.js';
import { eventually } from '../../libs/testing/index.js';
import { runCli, spawnCli } from '../support/cli.js';
import type { TestHub } from '../support/hub.js';
import { type AgentBootstrap, type JwtFleet, startJwtFleet } from '../support/jwt-fleet.js';

// The hub against its own nats-server configured as README "NATS security" tells for an external
// NATS: keys from `nats-init`, the generated server configuration, FLOTILLA_NATS_AUTH_DIR.

const root = mkdtempSync(join(tmpdir(), 'flotilla-nats-auth-e2e-'));
const authDir = join(root, 'nats-auth');
let fleet: JwtFleet;
let server: NatsServerHandle;
let authority: NatsAuthority;
let hub: TestHub;
let subjects: Subjects;
let tokens: Map<string, string>;

const bootstrap = (token: string, expected = 200) => fleet.bootstrap(token, expected);
const loginAs = (boot: AgentBootstrap) => fleet.loginAs(boot);
const startClusterAgent = (cluster: string) => fleet.startClusterAgent(cluster);

/** The first permission violation the connection reports for `subject`. */
async function violation(nc: NatsConnection, subject: string): Promise<PermissionViolationError> {
  for await (const status of nc.status()) {
    if (status.type === 'error' && status.error instanceof PermissionViolationError) {
      if (status.error.subject === subject) return status.error;
    }
  }
  throw new Error(`the connection closed without a permission violation for ${subject}`);
}

beforeAll(async () => {
  // As an operator of an external NATS does it: keys and server configuration from the CLI (the
  // resolver directory is relative to the server's working directory, its data dir here).
  const init = await runCli(['hub', 'nats-init', '--out', authDir]);
  expect(init).toMatchObject({ code: 0, stderr: '' });
  expect(init.stdout).toContain(NATS_AUTH_FILES.serverConfig);
  expect((await runCli(['hub', 'nats-init', '--out', authDir])).stderr).toMatch(
    /exists already; refusing to replace/,
  );
  fleet = await startJwtFleet({
    root,
    authDir,
    keys: await readNatsAuthKeys(authDir),
    serverConfigFile: join(authDir, NATS_AUTH_FILES.serverConfig),
    clusters: { a: { env: 'secure' }, b: { env: 'secure' } },
    target: 'env=secure',
  });
  ({ server, authority, hub, subjects, tokens } = fleet);
});

afterAll(async () => {
  await fleet?.stop();
});

describe('per-cluster NATS credentials (decentralized JWT auth)', () => {
  it('bootstrap hands each agent its own user, limited to its own subjects and inbox', async () => {
    const boot = await bootstrap(tokens.get('a')!);
    expect(boot.natsUrl).toBe(server.url);
    expect(boot.credentials).toMatch(
      /^-----BEGIN NATS USER JWT-----\n.+\n------END NATS USER JWT------\n[\s\S]*-----BEGIN USER NKEY SEED-----\nSU[A-Z2-7]+\n/,
    );
    expect(boot.inboxPrefix).toBe(subjects.agentInboxPrefix('a'));
    const jwt = decode<User>(boot.credentials.split('\n')[1]!);
    expect(jwt.iss).toBe(authority.accountPublicKey);
    expect(jwt.nats.pub?.allow).toEqual([subjects.agentPublishes('a')]);
    expect(jwt.nats.sub?.allow).toEqual([
      subjects.agentReceives('a'),
      `${subjects.agentInboxPrefix('a')}.>`,
    ]);
    // The same token gets the same user (every hub replica issues it), B another one.
    expect(decode((await bootstrap(tokens.get('a')!)).credentials.split('\n')[1]!).sub).toBe(
      jwt.sub,
    );
    expect(decode((await bootstrap(tokens.get('b')!)).credentials.split('\n')[1]!).sub).not.toBe(
      jwt.sub,
    );
  });

  it("agent A's credentials cannot subscribe to B's desired state nor publish B's status", async () => {
    const hubSide = await fleet.hubSide('test-observer');
    const seen: string[] = [];
    const spy = hubSide.subscribe(subjects.allStatus(), {
      callback: (_err, msg) => {
        seen.push(msg.subject);
      },
    });
    await hubSide.flush();

    const a = await loginAs(await bootstrap(tokens.get('a')!));
    const refusedSub = violation(a, subjects.desired('b'));
    const sub = a.subscribe(subjects.desired('b'));
    expect((await refusedSub).operation).toBe('subscription');
    expect(await sub.closed).toBeInstanceOf(PermissionViolationError);

    for (const subject of [subjects.allEvents(), `${subjects.agentInboxPrefix('b')}.>`]) {
      const refused = violation(a, subject);
      a.subscribe(subject);
      expect((await refused).operation).toBe('subscription');
    }

    const refusedPub = violation(a, subjects.status('b'));
    a.publish(subjects.status('b'), JSON.stringify({ forged: true }));
    expect((await refusedPub).operation).toBe('publish');

    // Its own status gets through; the forged one never reached the hub.
    a.publish(subjects.status('a'), JSON.stringify({ probe: true }));
    await a.flush();
    await eventually(
      'A status seen by the hub side',
      () => Promise.resolve(seen),
      (s) => s.includes(subjects.status('a')),
    );
    expect(seen).not.toContain(subjects.status('b'));
    spy.unsubscribe();
    await a.close();
  });

  it('agents run on their own credentials: both clusters Online and Ready', async () => {
    await startClusterAgent('a');
    await startClusterAgent('b');
    for (const name of ['a', 'b']) {
      await eventually(
        `${name} Online with web Ready`,
        async () => (await hub.api().get(`/api/v1/clusters/${name}`).expect(200)).body,
        (c) =>
          c.state === 'Online' &&
          c.deployments.length === 1 &&
          c.deployments[0].state === 'Ready' &&
          c.deployments[0].appliedRevision === c.deployments[0].desiredRevision,
      );
    }
  });

  it("rotating A's token revokes A's old credentials: disconnected and refused; the new token works", async () => {
    const old = await bootstrap(tokens.get('a')!);
    const before = await loginAs(old);
    await before.flush();

    const res = await hub.api().post('/api/v1/clusters/a/token').expect(200);
    expect(res.body.token).toMatch(/^fla_/);
    expect(res.body.token).not.toBe(tokens.get('a'));

    expect(await before.closed()).toBeInstanceOf(Error);
    await expect(loginAs(old)).rejects.toThrow(/Authorization Violation/i);
    await bootstrap(tokens.get('a')!, 401);

    const fresh = await bootstrap(res.body.token);
    const after = await loginAs(fresh);
    await after.flush();
    expect(after.isClosed()).toBe(false);
    await after.close();

    await hub.api().post('/api/v1/clusters/nowhere/token').expect(404);
  });

  it("deleting cluster B revokes B's credentials: disconnected and refused", async () => {
    const boot = await bootstrap(tokens.get('b')!);
    const nc = await loginAs(boot);
    await nc.flush();

    await hub.api().delete('/api/v1/clusters/b').expect(204);

    expect(await nc.closed()).toBeInstanceOf(Error);
    await expect(loginAs(boot)).rejects.toThrow(/Authorization Violation/i);
    await bootstrap(tokens.get('b')!, 401);
  });

  it('an agent started with --exit-on-revoke says once that its cluster was removed and exits with status 3', async () => {
    const res = await hub.api().post('/api/v1/clusters').send({ name: 'c' }).expect(201);
    const agent = spawnCli([
      'agent',
      '--hub',
      hub.httpUrl,
      '--token',
      res.body.token as string,
      '--simulate',
      '--state-dir',
      mkdtempSync(join(root, 'agent-c-')),
      '--heartbeat-interval',
      '300ms',
      '--exit-on-revoke',
    ]);
    try {
      await eventually(
        'cluster c Online',
        async () => (await hub.api().get('/api/v1/clusters/c').expect(200)).body,
        (c) => c.state === 'Online',
      );
      await hub.api().delete('/api/v1/clusters/c').expect(204);
      expect(await agent.exited).toBe(3);
      expect(agent.output().match(/removed from the hub/g)).toHaveLength(1);
    } finally {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    }
  });
});
