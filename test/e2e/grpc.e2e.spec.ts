import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetClient } from '../support/grpc.js';
import { startTestHub, type TestHub } from '../support/hub.js';

let hub: TestHub;
let fleet: ReturnType<typeof fleetClient>;

beforeAll(async () => {
  hub = await startTestHub();
  fleet = fleetClient(hub.grpcAddress!, hub.adminToken);
  const api = hub.api();
  for (const [name, labels] of Object.entries({
    'a-1': { env: 'prod', region: 'eu' },
    'a-2': { env: 'prod', region: 'us' },
    'b-1': { env: 'dev', region: 'eu' },
    'b-2': { env: 'dev' },
  })) {
    await api.post('/api/v1/clusters').send({ name, labels }).expect(201);
  }
  await api.post('/api/v1/cluster-groups').send({ name: 'eu', selector: 'region=eu' }).expect(201);
});
afterAll(async () => {
  fleet?.client.close();
  await hub?.stop();
});

describe('FleetService over gRPC', () => {
  it.each(['', 'env=prod', 'region notin (us)', '!region', 'env in (dev),region'])(
    'ListClusters with selector "%s" returns exactly what REST returns',
    async (selector) => {
      const rest = await hub
        .api()
        .get('/api/v1/clusters')
        .query({ labelSelector: selector })
        .expect(200);
      const res = await fleet.call<{ items: any[]; continueToken: string }>('ListClusters', {
        labelSelector: selector,
      });
      expect(res.items.map((c) => ({ name: c.name, labels: c.labels, state: c.state }))).toEqual(
        rest.body.items.map((c: any) => ({ name: c.name, labels: c.labels, state: c.state })),
      );
    },
  );

  it('ListClusters pages with limit and continueToken', async () => {
    const first = await fleet.call<{ items: any[]; continueToken: string }>('ListClusters', {
      limit: 3,
    });
    expect(first.items).toHaveLength(3);
    const second = await fleet.call<{ items: any[]; continueToken: string }>('ListClusters', {
      limit: 3,
      continueToken: first.continueToken,
    });
    expect(second.items.map((c) => c.name)).toEqual(['b-2']);
    expect(second.continueToken).toBe('');
  });

  it('an invalid selector is INVALID_ARGUMENT with the message', async () => {
    await expect(
      fleet.call('ListClusters', { labelSelector: 'env in prod' }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it('RegisterCluster returns the cluster and a token; a duplicate is ALREADY_EXISTS', async () => {
    const res = await fleet.call<any>('RegisterCluster', { name: 'g-1', labels: { env: 'prod' } });
    expect(res.cluster).toMatchObject({ name: 'g-1', labels: { env: 'prod' }, state: 'Pending' });
    expect(res.token).toMatch(/^fla_/);
    await expect(fleet.call('RegisterCluster', { name: 'g-1' })).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
    });
    await expect(fleet.call('RegisterCluster', { name: 'Bad Name' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it('GetCluster returns one cluster; an unknown one is NOT_FOUND', async () => {
    expect(await fleet.call<any>('GetCluster', { name: 'a-1' })).toMatchObject({
      name: 'a-1',
      lastSeen: '',
    });
    await expect(fleet.call('GetCluster', { name: 'zzz' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'cluster "zzz" not found',
    });
  });

  it('ListClusterGroups returns groups with their members', async () => {
    const res = await fleet.call<any>('ListClusterGroups', {});
    expect(res.items).toHaveLength(1);
    expect(res.items[0]).toMatchObject({
      name: 'eu',
      selectorText: 'region=eu',
      clusters: ['a-1', 'b-1'],
      summary: { total: 2, pending: 2, online: 0, offline: 0 },
      selector: { matchLabels: { region: 'eu' } },
    });
  });

  it('GetFleetStatus counts clusters by state', async () => {
    const res = await fleet.call<any>('GetFleetStatus', {});
    expect(res.clusters).toEqual({ total: 5, online: 0, offline: 0, pending: 5 });
    // When the (cached) counts were computed.
    expect(Date.parse(res.computedAt)).not.toBeNaN();
  });

  it('WatchFleetStatus streams a snapshot, then each change with the counts after it', async () => {
    const events: any[] = [];
    const stream = fleet.client.WatchFleetStatus!({}, fleet.auth());
    stream.on('data', (e: any) => events.push(e));
    stream.on('error', () => undefined);
    await expect.poll(() => events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatchObject({ type: 'Snapshot', status: { clusters: { total: 5 } } });

    await hub
      .api()
      .post('/api/v1/clusters')
      .send({ name: 'w-1', labels: { env: 'dev' } })
      .expect(201);
    await hub.api().delete('/api/v1/clusters/w-1').expect(204);
    await expect.poll(() => events.length).toBeGreaterThanOrEqual(3);
    expect(events.slice(1, 3).map((e) => [e.type, e.cluster.name])).toEqual([
      ['Registered', 'w-1'],
      ['Deleted', 'w-1'],
    ]);
    expect(events[2].status.clusters.total).toBe(5);
    // Counts computed after the change, not before it.
    expect(Date.parse(events[2].status.computedAt)).toBeGreaterThanOrEqual(
      Date.parse(events[2].at),
    );
    stream.cancel();
  });

  it('server reflection lists flotilla.v1.FleetService', async () => {
    const def = protoLoader.loadSync('grpc/reflection/v1alpha/reflection.proto', {
      includeDirs: [
        new URL('../../node_modules/@grpc/reflection/build/proto', import.meta.url).pathname,
      ],
      keepCase: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const client = new pkg.grpc.reflection.v1alpha.ServerReflection(
      hub.grpcAddress,
      grpc.credentials.createInsecure(),
    );
    const services = await new Promise<string[]>((resolve, reject) => {
      const call = client.ServerReflectionInfo();
      call.on('data', (res: any) => {
        resolve(res.list_services_response.service.map((s: any) => s.name));
        call.end();
      });
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    expect(services).toContain('flotilla.v1.FleetService');
    client.close();
  });
});
