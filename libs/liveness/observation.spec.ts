import { describe, expect, it } from 'vitest';
import { ObservationWindow, judgeLeases } from './observation.js';

describe('ObservationWindow', () => {
  // Grace 5 s (one heartbeat interval), ticks every 500 ms, a tick 1 s late is a gap.
  it.each<{ name: string; ticks: number[]; judgeAt: number; expected: number; gaps: number }>([
    {
      name: 'after a start, judges nothing before one interval has passed',
      ticks: [],
      judgeAt: 0,
      expected: 5_000,
      gaps: 0,
    },
    {
      name: 'with ticks on time, judges from start + grace, long after',
      ticks: [500, 1_000, 1_500, 2_000, 2_500, 3_000, 3_500, 4_000, 4_500, 5_000, 5_500],
      judgeAt: 5_600,
      expected: 5_000,
      gaps: 0,
    },
    {
      name: 'a tick late by less than the threshold is no gap',
      ticks: [500, 1_000, 2_400],
      judgeAt: 2_500,
      expected: 5_000,
      gaps: 0,
    },
    {
      name: 'a blocked event loop (no tick for 10 s) ends a gap at the next tick: judges one interval after it',
      ticks: [500, 1_000, 11_000, 11_500],
      judgeAt: 11_600,
      expected: 16_000,
      gaps: 1,
    },
    {
      name: 'a judgement that comes first after the block (lease timers run before the tick) notices the gap itself',
      ticks: [500, 1_000],
      judgeAt: 11_000,
      expected: 16_000,
      gaps: 1,
    },
  ])('$name', ({ ticks, judgeAt, expected, gaps }) => {
    let now = 0;
    const seen: number[] = [];
    const window = new ObservationWindow(5_000, { now: () => now }, (gap) => seen.push(gap));
    for (const at of ticks) {
      now = at;
      window.tick();
    }
    now = judgeAt;
    expect(window.judgeFrom()).toBe(expected);
    expect(seen).toHaveLength(gaps);
  });
});

describe('judgeLeases', () => {
  it.each<{
    name: string;
    received: [string, number][];
    now: number;
    judgeFrom: number;
    expire: string[];
    later: { name: string; at: number }[];
  }>([
    {
      name: 'expires a lapsed lease whose cluster sent nothing since',
      received: [['a', 900]],
      now: 1_000,
      judgeFrom: 0,
      expire: ['a'],
      later: [],
    },
    {
      name: 'expires a lapsed lease this hub never saw a heartbeat for (another replica granted it)',
      received: [],
      now: 1_000,
      judgeFrom: 0,
      expire: ['a'],
      later: [],
    },
    {
      name: 'keeps a lease whose heartbeat arrived but is not in PostgreSQL yet (the database is paused), until that lease ends',
      received: [['a', 2_500]],
      now: 1_000,
      judgeFrom: 0,
      expire: [],
      later: [{ name: 'a', at: 2_500 }],
    },
    {
      name: 'expires nothing before the hub has observed for one interval after a stall, and looks again then',
      received: [],
      now: 1_000,
      judgeFrom: 6_000,
      expire: [],
      later: [{ name: 'a', at: 6_000 }],
    },
    {
      name: 'after a stall, looks again at the later of the end of the grace and a received lease',
      received: [['a', 9_000]],
      now: 1_000,
      judgeFrom: 6_000,
      expire: [],
      later: [{ name: 'a', at: 9_000 }],
    },
    {
      name: 'a lease received to end exactly now is expired',
      received: [['a', 1_000]],
      now: 1_000,
      judgeFrom: 1_000,
      expire: ['a'],
      later: [],
    },
  ])('$name', ({ received, now, judgeFrom, expire, later }) => {
    expect(judgeLeases(['a'], new Map(received), now, judgeFrom)).toEqual({ expire, later });
  });
});
