import { describe, expect, it } from 'vitest';
import { loadHubConfig, natsServers } from './config.js';

describe('FLOTILLA_NATS_REPLICAS', () => {
  it.each<[string, Record<string, string>, number]>([
    ['defaults to 1 (a single nats-server)', {}, 1],
    ['empty counts as unset', { FLOTILLA_NATS_REPLICAS: '' }, 1],
    ['3 for a three-node NATS cluster', { FLOTILLA_NATS_REPLICAS: '3' }, 3],
    ['5 is the most JetStream replicates', { FLOTILLA_NATS_REPLICAS: '5' }, 5],
  ])('%s', (_behaviour, env, replicas) => {
    expect(loadHubConfig(env).natsReplicas).toBe(replicas);
  });

  it.each(['0', '6', '2.5', 'three', '-1'])(
    '"%s" stops the hub with a message naming the variable and the range',
    (value) => {
      expect(() => loadHubConfig({ FLOTILLA_NATS_REPLICAS: value })).toThrow(
        /FLOTILLA_NATS_REPLICAS: .*1 to 5/,
      );
    },
  );
});

describe('NATS URLs', () => {
  it.each<[string, string, string[]]>([
    ['one server', 'nats://nats:4222', ['nats://nats:4222']],
    [
      'the members of a cluster, separated by commas',
      'nats://a:4222,nats://b:4222, nats://c:4222',
      ['nats://a:4222', 'nats://b:4222', 'nats://c:4222'],
    ],
    ['empty entries are ignored', 'nats://a:4222,,', ['nats://a:4222']],
  ])('%s', (_behaviour, url, servers) => {
    expect(natsServers(url)).toEqual(servers);
  });
});
