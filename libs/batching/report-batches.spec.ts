import { describe, expect, it } from 'vitest';
import { messagesForNextWrite, newestPerDeployment } from './report-batches.js';

const r = (bundle: string, cluster: string, at: number, tag = '') => ({
  bundle,
  cluster,
  observedAt: new Date(at),
  tag,
});

describe('newestPerDeployment', () => {
  it.each([
    { name: 'an empty batch', reports: [], kept: [] },
    {
      name: 'different deployments are all kept, in arrival order',
      reports: [r('b', 'c1', 5, 'x'), r('a', 'c1', 1, 'y'), r('b', 'c2', 3, 'z')],
      kept: ['x', 'y', 'z'],
    },
    {
      name: 'the newest report of a deployment wins over an older one arriving later',
      reports: [r('a', 'c1', 20, 'new'), r('a', 'c1', 10, 'old')],
      kept: ['new'],
    },
    {
      name: 'a newer report arriving later wins',
      reports: [r('a', 'c1', 10, 'old'), r('a', 'c1', 20, 'new')],
      kept: ['new'],
    },
    {
      name: 'on a tie the later arrival wins',
      reports: [r('a', 'c1', 10, 'first'), r('a', 'c1', 10, 'second')],
      kept: ['second'],
    },
    {
      name: 'several reports of several deployments: the newest of each',
      reports: [
        r('a', 'c1', 1, 'a1'),
        r('a', 'c2', 5, 'a2-new'),
        r('a', 'c1', 3, 'a1-new'),
        r('a', 'c2', 4, 'a2-old'),
        r('a', 'c1', 2, 'a1-mid'),
      ],
      kept: ['a1-new', 'a2-new'],
    },
    {
      name: 'the same bundle on another cluster, or another bundle on the cluster, is another deployment',
      reports: [r('a', 'c1', 2, 'a/c1'), r('a', 'c2', 1, 'a/c2'), r('b', 'c1', 1, 'b/c1')],
      kept: ['a/c1', 'a/c2', 'b/c1'],
    },
  ])('$name', ({ reports, kept }) => {
    expect(newestPerDeployment(reports).map((x) => x.tag)).toEqual(kept);
  });
});

describe('messagesForNextWrite', () => {
  it.each([
    { name: 'nothing waiting', waiting: [], maxRows: 10, busy: [], take: 0 },
    {
      name: 'everything fits',
      waiting: [['a'], ['b', 'c']],
      maxRows: 10,
      busy: [],
      take: 2,
    },
    {
      name: 'stops before the message that would pass the limit',
      waiting: [['a', 'b'], ['c', 'd'], ['e']],
      maxRows: 3,
      busy: [],
      take: 1,
    },
    {
      name: 'takes one message larger than the limit on its own',
      waiting: [['a', 'b', 'c', 'd'], ['e']],
      maxRows: 2,
      busy: [],
      take: 1,
    },
    {
      name: 'the oldest message waits while a write in progress holds one of its deployments',
      waiting: [['a', 'b'], ['c']],
      maxRows: 10,
      busy: ['b'],
      take: 0,
    },
    {
      name: 'stops before the first message about a busy deployment (order is kept)',
      waiting: [['a'], ['b'], ['c', 'x'], ['d']],
      maxRows: 10,
      busy: ['x'],
      take: 2,
    },
    {
      name: 'deployments no write holds go ahead',
      waiting: [['a'], ['b']],
      maxRows: 10,
      busy: ['x', 'y'],
      take: 2,
    },
  ])('$name', ({ waiting, maxRows, busy, take }) => {
    expect(
      messagesForNextWrite(
        waiting.map((keys) => ({ keys })),
        maxRows,
        new Set(busy),
      ),
    ).toBe(take);
  });
});
