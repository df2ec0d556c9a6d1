import 'reflect-metadata';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubjects, DeploymentEventType } from '../../libs/contracts/index.js';
import type { NotificationRepository } from '../../libs/db/index.js';
import { testNatsUrl, testSubjectPrefix } from '../../libs/testing/index.js';
import { NotificationRouter } from './notification-router.js';

// A burst of hub events (a status write announces every cluster it changed) is routed in
// passes: the rules are read once per pass, not once per event.
let nc: NatsConnection;
beforeAll(async () => {
  nc = await connect({ servers: testNatsUrl() });
});
afterAll(async () => {
  await nc.close();
});

describe('NotificationRouter', () => {
  it('reads the rules once per pass over a burst of deployment events, not once per event', async () => {
    const subjects = createSubjects(testSubjectPrefix());
    let ruleReads = 0;
    const store = {
      allRules: () => {
        ruleReads++;
        return Promise.resolve([]);
      },
    } as unknown as NotificationRepository;
    const unused = {} as never;
    const router = new NotificationRouter(nc, subjects, store, unused, unused, unused, unused);
    router.onApplicationBootstrap();
    await nc.flush();
    const EVENTS = 500;
    for (let i = 0; i < EVENTS; i++) {
      const cluster = `c${i}`;
      nc.publish(
        subjects.event('deployment', cluster),
        JSON.stringify({
          type: DeploymentEventType.DeploymentsChanged,
          cluster,
          deployments: [{ bundle: 'app/a', state: 'Ready' }],
          at: new Date().toISOString(),
        }),
      );
    }
    // The server sends this connection every event before the flush's answer.
    await nc.flush();
    await router.onApplicationShutdown();
    expect(ruleReads).toBeGreaterThan(0);
    expect(ruleReads).toBeLessThan(EVENTS / 10);
  });
});
