import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { LogLevel } from '@nestjs/common';
import request from 'supertest';
import { connect } from '@nats-io/transport-node';
import { loadHubConfig } from '../../libs/config/config.js';
import type { TimerClock } from '../../libs/liveness/lease.js';
import { statusStreamName } from '../../libs/nats/index.js';
import {
  createTestDatabase,
  eventually,
  testNatsUrl,
  testSubjectPrefix,
} from '../../libs/testing/index.js';
import type { HubServiceName } from '../../services/hub/service-names.js';
import { type RunningHub, runHub } from '../../services/hub/hub.js';

/** A hub on its own database and subject prefix, on free ports, against the real servers. */
export interface TestHub extends RunningHub {
  /**
   * Environment for a CLI or agent process talking to this hub's infrastructure; it holds the
   * admin token as FLOTILLA_TOKEN, so the CLI run with it is an admin.
   */
  env: Record<string, string>;
  /** The bootstrap admin API token (FLOTILLA_ADMIN_TOKEN). */
  adminToken: string;
  /** supertest against the hub, sending `token` (default: the admin token) on every request. */
  api(token?: string | null): request.Agent;
  stop(): Promise<void>;
}

export async function startTestHub(
  options: {
    heartbeatInterval?: string;
    services?: HubServiceName[];
    env?: Record<string, string>;
    /** Nest log levels (default: fatal and error). */
    logLevels?: LogLevel[];
    /** The services' clock (CLOCK): a `SkippableClock` lets a test skip bake times. */
    clock?: TimerClock;
  } = {},
): Promise<TestHub> {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-hub-'));
  const adminToken = `flt_test-admin-${randomBytes(16).toString('hex')}`;
  const subjectPrefix = testSubjectPrefix();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    PORT: '0',
    GRPC_PORT: '0',
    HOST: '127.0.0.1',
    FLOTILLA_DATA_DIR: dataDir,
    FLOTILLA_SUBJECT_PREFIX: subjectPrefix,
    FLOTILLA_HEARTBEAT_INTERVAL: options.heartbeatInterval ?? '5s',
    // Tests keep their Git repositories in temporary directories.
    FLOTILLA_FILE_URL_ROOT: tmpdir(),
    FLOTILLA_ADMIN_TOKEN: adminToken,
    FLOTILLA_TOKEN: adminToken,
    ...options.env,
  };
  const hub = await runHub({
    config: loadHubConfig(env),
    services: options.services,
    logLevels: options.logLevels ?? ['fatal', 'error'],
    clock: options.clock,
  });
  return {
    ...hub,
    env,
    adminToken,
    api: (token = adminToken) => {
      const agent = request.agent(hub.httpUrl);
      return token === null ? agent : agent.set('authorization', `Bearer ${token}`);
    },
    stop: async () => {
      await hub.close();
      await deleteStream(statusStreamName(env.FLOTILLA_SUBJECT_PREFIX ?? subjectPrefix));
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes a test run's JetStream stream from the shared NATS server. */
async function deleteStream(name: string): Promise<void> {
  const nc = await connect({ servers: testNatsUrl() });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Waits until `bundle` has a deployment on `clusters` clusters, every one Ready. */
export async function waitForBundleReady(
  api: request.Agent,
  bundle: string,
  clusters: number,
): Promise<void> {
  await eventually(
    `${bundle} Ready on ${clusters} clusters`,
    async () => (await api.get(`/api/v1/bundles/${encodeURIComponent(bundle)}`)).body,
    (b) =>
      b.deployments?.length === clusters &&
      b.deployments.every((d: { state: string }) => d.state === 'Ready'),
  );
}

/**
 * Registers the GitRepo `fleet` from the local bare repository `bareDir` (branch main, path
 * `apps`, never polled), targeting the clusters `clusterSelector` selects.
 */
export async function addFleetRepo(
  hub: TestHub,
  bareDir: string,
  clusterSelector: string,
): Promise<void> {
  await hub
    .api()
    .post('/api/v1/gitrepos')
    .send({
      name: 'fleet',
      url: `file://${bareDir}`,
      branch: 'main',
      paths: ['apps'],
      pollingInterval: '0',
      targets: [{ clusterSelector }],
    })
    .expect(201);
}

/** Creates through the API (`POST /api/v1/api-tokens`) a viewer and an operator token into `tokens`. */
export async function issueRoleTokens(
  api: request.Agent,
  tokens: Record<string, string>,
): Promise<void> {
  for (const role of ['viewer', 'operator'] as const) {
    const { body } = await api
      .post('/api/v1/api-tokens')
      .send({ name: `t-${role}`, role })
      .expect(201);
    tokens[role] = (body as { token: string }).token;
  }
}
