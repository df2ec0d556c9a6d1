import { jetstream } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DesiredMessageSchema,
  INLINE_CONTENT_BYTES,
  PayloadVerifier,
  SIGNATURE_HEADER,
  changesOf,
  contentDigest,
  createSubjects,
  type StatusBatch,
  type StatusReport,
  type Subjects,
} from '../../libs/contracts/index.js';
import { type GitServer, eventually, startGitServer } from '../../libs/testing/index.js';
import { addFleetRepo, startTestHub, type TestHub } from '../support/hub.js';

// The hub's side of the agent messages, without an agent: desired state as it leaves the hub
// (several bundles' changes in one signed message, small content inline), and status reports
// driven by hand over JetStream as an agent sends them: a batch of several bundles' reports in
// one message (what agents send), or one bare report.

const configMap = (name: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}}
data: {k: v}
`;

interface DeploymentView {
  bundle: string;
  cluster: string;
  desiredRevision: string | null;
  appliedRevision: string | null;
  state: string;
  message: string;
}

let hub: TestHub;
let git: GitServer;
let nc: NatsConnection;
let subjects: Subjects;
let repoName: string;
const tokens = new Map<string, string>();

async function deploymentsOf(cluster: string): Promise<DeploymentView[]> {
  const body = (await hub.api().get(`/api/v1/clusters/${cluster}`).expect(200)).body;
  return (body.deployments as DeploymentView[]).sort((x, y) => x.bundle.localeCompare(y.bundle));
}

function report(
  d: DeploymentView,
  state: StatusReport['state'],
  message = '',
  cluster = d.cluster,
): StatusReport {
  return {
    cluster,
    bundle: d.bundle,
    revision: d.desiredRevision,
    state,
    message,
    resources: [],
    observedAt: new Date().toISOString(),
  };
}

async function publish(cluster: string, message: StatusBatch | StatusReport | object) {
  await jetstream(nc).publish(subjects.status(cluster), JSON.stringify(message));
}

beforeAll(async () => {
  hub = await startTestHub();
  subjects = createSubjects(hub.config.subjectPrefix);
  nc = await connect({ servers: hub.config.natsUrl });
  git = await startGitServer();
  repoName = 'fleet';
  const repo = await git.createRepo(repoName, {
    'apps/one/cm.yaml': configMap('one'),
    'apps/two/cm.yaml': configMap('two'),
  });
  for (const name of ['a', 'b']) {
    const res = await hub
      .api()
      .post('/api/v1/clusters')
      .send({ name, labels: { ingest: 'yes' } })
      .expect(201);
    tokens.set(name, res.body.token as string);
  }
  await addFleetRepo(hub, repo.bareDir, 'ingest=yes');
  for (const name of ['a', 'b']) {
    await eventually(
      `${name} has both bundles desired`,
      () => deploymentsOf(name),
      (ds) => ds.length === 2 && ds.every((d) => d.desiredRevision !== null),
    );
  }
});

afterAll(async () => {
  await nc?.close();
  await git?.stop();
  await hub?.stop();
});

describe('desired state', () => {
  it('a commit changing two bundles reaches a cluster as one signed message holding both, with the content inline', async () => {
    const boot = await hub
      .api(tokens.get('a'))
      .post('/api/v1/agent/bootstrap')
      .send({})
      .expect(200);
    const verifier = new PayloadVerifier(boot.body.hubPublicKey as string);
    const received: Msg[] = [];
    const sub = nc.subscribe(subjects.desired('a'), { callback: (_e, m) => void received.push(m) });
    await nc.flush();
    const commit = await git.commit(repoName, {
      'apps/one/cm.yaml': configMap('one-v2'),
      'apps/two/cm.yaml': configMap('two-v2'),
    });
    await hub
      .api()
      .post(`/api/v1/gitrepos/${repoName}/sync`)
      .expect((r) => {
        if (r.status >= 300) throw new Error(`sync: ${r.status}`);
      });
    const [message] = await eventually(
      'desired state for a at the new commit',
      () => Promise.resolve(received),
      (ms) => ms.length > 0,
    );
    sub.unsubscribe();
    expect(verifier.verify(message!.data, message!.headers?.get(SIGNATURE_HEADER))).toBe(true);
    const changes = changesOf(DesiredMessageSchema.parse(message!.json()));
    // Bundles are delivered side by side: their order in the message is not meaningful.
    expect(changes.map((c) => [c.kind, c.bundle]).sort()).toEqual([
      ['Upsert', 'fleet/one'],
      ['Upsert', 'fleet/two'],
    ]);
    for (const c of changes) {
      if (c.kind !== 'Upsert') throw new Error('an Upsert was expected');
      expect(c.commit).toBe(commit);
      expect(c.size).toBeLessThanOrEqual(INLINE_CONTENT_BYTES);
      const bytes = Buffer.from(c.content!, 'utf8');
      expect(bytes.length).toBe(c.size);
      expect(contentDigest(bytes)).toBe(c.contentSha256);
      expect(JSON.parse(c.content!)[0].metadata.name).toMatch(/-v2$/);
    }
  });
});

describe('delivery', () => {
  it('a delivery pass that fails is run again: the commit still reaches the cluster', async () => {
    const received: Msg[] = [];
    const sub = nc.subscribe(subjects.desired('b'), { callback: (_e, m) => void received.push(m) });
    await nc.flush();
    const db = new pg.Client({ connectionString: hub.config.databaseUrl });
    await db.connect();
    try {
      // The first write of a new desired commit to b's fleet/one fails, as a deadlock or a
      // dropped connection would make it (a sequence, unlike a table, keeps its count when the
      // failing transaction rolls back).
      await db.query(`CREATE SEQUENCE test_fail_once;
        CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('test_fail_once') = 1 THEN RAISE EXCEPTION 'injected failure'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER test_fail_once BEFORE UPDATE ON deployments FOR EACH ROW
          WHEN (NEW.bundle = 'fleet/one' AND NEW.cluster = 'b'
                AND NEW.desired_commit IS DISTINCT FROM OLD.desired_commit)
          EXECUTE FUNCTION test_fail_once()`);
      const commit = await git.commit(repoName, { 'apps/one/cm.yaml': configMap('one-v3') });
      await hub.api().post(`/api/v1/gitrepos/${repoName}/sync`).expect(202);
      const upsert = await eventually(
        'the commit delivered to b after all',
        () =>
          Promise.resolve(
            received
              .flatMap((m) => changesOf(DesiredMessageSchema.parse(m.json())))
              .find((c) => c.kind === 'Upsert' && c.bundle === 'fleet/one' && c.commit === commit),
          ),
        (c) => c !== undefined,
      );
      expect(upsert).toBeDefined();
      // It did fail once, and was written by a later pass.
      const fired = await db.query<{ n: string }>('SELECT last_value AS n FROM test_fail_once');
      expect(Number(fired.rows[0]!.n)).toBeGreaterThanOrEqual(2);
    } finally {
      sub.unsubscribe();
      await db.query(`DROP TRIGGER IF EXISTS test_fail_once ON deployments;
        DROP FUNCTION IF EXISTS test_fail_once(); DROP SEQUENCE IF EXISTS test_fail_once`);
      await db.end();
    }
  });
});

describe('status ingest', () => {
  it("one message with several bundles' reports updates every one of them", async () => {
    const ds = await deploymentsOf('a');
    await publish('a', { cluster: 'a', reports: ds.map((d) => report(d, 'Ready')) });
    await eventually(
      'both of a Ready at the desired revision',
      () => deploymentsOf('a'),
      (now) => now.every((d) => d.state === 'Ready' && d.appliedRevision === d.desiredRevision),
    );
  });

  it('a bare report (one bundle per message) is still accepted', async () => {
    const [one] = await deploymentsOf('a');
    await publish('a', report(one!, 'NotReady', '0/1 replicas available'));
    await eventually(
      'a/one NotReady with the message',
      () => deploymentsOf('a'),
      (now) => now[0]!.state === 'NotReady' && now[0]!.message === '0/1 replicas available',
    );
  });

  it("a message with a report about another cluster is refused whole; the sender's next one counts", async () => {
    const [aOne, aTwo] = await deploymentsOf('a');
    const [bOne] = await deploymentsOf('b');
    await publish('a', {
      cluster: 'a',
      reports: [report(aTwo!, 'ErrApplied', 'forged'), report(bOne!, 'Ready', '', 'b')],
    });
    await publish('a', { cluster: 'b', reports: [report(bOne!, 'Ready', '', 'b')] });
    await publish('a', { cluster: 'a', reports: [] });
    await publish('a', { cluster: 'a', reports: [report(aOne!, 'Ready')] });
    await eventually(
      'a/one Ready again',
      () => deploymentsOf('a'),
      (now) => now[0]!.state === 'Ready',
    );
    // Messages of one subject are written in order: the refused ones came before.
    expect((await deploymentsOf('a'))[1]!.state).toBe('Ready');
    expect((await deploymentsOf('b')).map((d) => d.state)).toEqual(['Pending', 'Pending']);
    const metrics = (await hub.api().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^flotilla_status_reports_rejected_total 3$/m);
  });
});

describe('what the cluster does not run is never Ready', () => {
  /** Makes cluster `name` Online, as its agent's heartbeat does. */
  async function heartbeat(name: string): Promise<void> {
    nc.publish(
      subjects.heartbeat(name),
      JSON.stringify({
        cluster: name,
        agentVersion: 'test',
        kubernetesVersion: 'v1.31.0',
        intervalMs: 5000,
        sentAt: new Date().toISOString(),
      }),
    );
    await eventually(
      `${name} Online`,
      async () => (await hub.api().get(`/api/v1/clusters/${name}`).expect(200)).body,
      (c) => c.state === 'Online',
    );
  }

  it('a Removed report for a bundle still desired leaves Ready, and the hub sends the bundle again', async () => {
    await heartbeat('a');
    const ds = await deploymentsOf('a');
    await publish('a', { cluster: 'a', reports: ds.map((d) => report(d, 'Ready')) });
    await eventually(
      'a Ready',
      () => deploymentsOf('a'),
      (now) => now.every((d) => d.state === 'Ready'),
    );
    const [one] = ds;
    const received: Msg[] = [];
    const sub = nc.subscribe(subjects.desired('a'), { callback: (_e, m) => void received.push(m) });
    try {
      await publish('a', { ...report(one!, 'Removed'), revision: null });
      const after = await eventually(
        'a/one no longer Ready',
        () => deploymentsOf('a'),
        (now) => now[0]!.state !== 'Ready',
      );
      expect(after[0]).toMatchObject({ state: 'Pending', appliedRevision: null });
      expect(after[0]!.message).toMatch(/removed while it is still desired/);
      await heartbeat('a');
      const resent = await eventually(
        'one sent to a again',
        () => received.flatMap((m) => changesOf(DesiredMessageSchema.parse(m.json()))),
        (changes) => changes.some((c) => c.kind === 'Upsert' && c.bundle === one!.bundle),
      );
      expect(resent.find((c) => c.bundle === one!.bundle)).toMatchObject({
        kind: 'Upsert',
        revision: one!.desiredRevision,
      });
    } finally {
      sub.unsubscribe();
    }
  });

  it('a sync saying the agent holds nothing puts what the hub saw applied back to Pending', async () => {
    const ds = await deploymentsOf('a');
    await publish('a', { cluster: 'a', reports: ds.map((d) => report(d, 'Ready')) });
    await eventually(
      'a Ready',
      () => deploymentsOf('a'),
      (now) => now.every((d) => d.state === 'Ready'),
    );
    const agent = await connect({
      servers: hub.config.natsUrl,
      inboxPrefix: subjects.agentInboxPrefix('a'),
    });
    try {
      const reply = await agent.request(subjects.sync('a'), JSON.stringify({ held: [] }), {
        timeout: 10_000,
      });
      const body = reply.json<{ cluster: string; changes: { bundle: string }[] }>();
      expect(body.cluster).toBe('a');
      expect(body.changes.map((c) => c.bundle).sort()).toEqual(ds.map((d) => d.bundle));
      const now = await deploymentsOf('a');
      expect(now.map((d) => [d.state, d.appliedRevision])).toEqual([
        ['Pending', null],
        ['Pending', null],
      ]);
      expect(now[0]!.message).toMatch(/does not hold this bundle/);
    } finally {
      await agent.close();
    }
  });
});
