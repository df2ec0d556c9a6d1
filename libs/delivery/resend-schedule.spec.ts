import { describe, expect, it } from 'vitest';
import {
  type ResendPolicy,
  ResendSchedule,
  type UnacknowledgedChange,
  resendWaitMs,
} from './resend-schedule.js';
import type { DesiredChange } from './sync-diff.js';

const policy: ResendPolicy = { firstMs: 5000, maxMs: 60_000, jitter: 0.5, perTick: 3 };

const upsert = (bundle: string, cluster = 'c1', revision = 'r1'): DesiredChange => ({
  kind: 'Upsert',
  bundle,
  cluster,
  revision,
  commit: `commit-${revision}`,
});
const row = (change: DesiredChange, since = 0): UnacknowledgedChange => ({ change, since });
const names = (changes: DesiredChange[]) => changes.map((c) => `${c.bundle}/${c.cluster}`);

describe('resendWaitMs', () => {
  it.each<[string, number, number, number]>([
    ['after the first re-send the wait doubles', 1, 0, 10_000],
    ['after the third it is eight times the first', 3, 0, 40_000],
    ['it never grows past the cap', 4, 0, 60_000],
    ['a hundred re-sends still wait the cap', 100, 0, 60_000],
    ['jitter takes up to its share off the wait', 1, 0.999_999, 5000],
    ['half a draw takes half the jitter off', 2, 0.5, 15_000],
    ['the cap is jittered too', 10, 0.5, 45_000],
  ])('%s', (_name, sent, random, expected) => {
    expect(resendWaitMs(policy, sent, random)).toBe(expected);
  });
});

/** Runs one tick of a schedule over the whole of `rows` read in pages of `pageSize`. */
function tick(s: ResendSchedule, rows: UnacknowledgedChange[], now: number, pageSize = 100) {
  const after = s.cursor;
  const page = rows
    .filter(
      (r) =>
        after === undefined ||
        r.change.bundle > after.bundle ||
        (r.change.bundle === after.bundle && r.change.cluster > after.cluster),
    )
    .slice(0, pageSize);
  return names(s.take(page, pageSize, now));
}

describe('ResendSchedule', () => {
  it.each<[string, (s: ResendSchedule) => string[][], string[][]]>([
    [
      'a deployment that never acknowledges is re-sent at growing intervals',
      (s) => {
        const rows = [row(upsert('a'))];
        const sent: string[][] = [];
        for (let t = 0; t <= 80_000; t += 5000) {
          if (tick(s, rows, t).length > 0) sent.push([String(t)]);
        }
        return sent;
      },
      [['0'], ['10000'], ['30000'], ['70000']],
    ],
    [
      'a report starts its back-off over',
      (s) => {
        const out: string[][] = [];
        out.push(tick(s, [row(upsert('a'), 0)], 0));
        out.push(tick(s, [row(upsert('a'), 0)], 5000));
        // The agent reported (its clock moved): due again at once, then doubling from the start.
        out.push(tick(s, [row(upsert('a'), 5000)], 10_000));
        out.push(tick(s, [row(upsert('a'), 5000)], 15_000));
        out.push(tick(s, [row(upsert('a'), 5000)], 20_000));
        return out;
      },
      [['a/c1'], [], ['a/c1'], [], ['a/c1']],
    ],
    [
      'a new desired revision starts its back-off over',
      (s) => {
        const out: string[][] = [];
        out.push(tick(s, [row(upsert('a', 'c1', 'r1'), 0)], 0));
        out.push(tick(s, [row(upsert('a', 'c1', 'r2'), 3000)], 1000));
        return out;
      },
      [['a/c1'], ['a/c1']],
    ],
    [
      'each tick re-sends at most perTick, and the rest go first at the next one',
      (s) => {
        const rows = ['a', 'b', 'c', 'd', 'e'].map((b) => row(upsert(b)));
        return [tick(s, rows, 0), tick(s, rows, 1000), tick(s, rows, 2000)];
      },
      [['a/c1', 'b/c1', 'c/c1'], ['d/c1', 'e/c1'], []],
    ],
    [
      'a backlog far larger than the budget still gets only perTick a tick',
      (s) => {
        const rows = Array.from({ length: 1000 }, (_, i) =>
          row(upsert(`b${String(i).padStart(4, '0')}`)),
        );
        return [0, 1, 2].map((i) => [String(tick(s, rows, i * 5000).length)]);
      },
      [['3'], ['3'], ['3']],
    ],
    [
      'pages are read one a tick, and a short page starts the sweep over',
      (s) => {
        const rows = ['a', 'b', 'c'].map((b) => row(upsert(b)));
        return [tick(s, rows, 0, 2), tick(s, rows, 0, 2), tick(s, rows, 20_000, 2)];
      },
      [['a/c1', 'b/c1'], ['c/c1'], ['a/c1', 'b/c1']],
    ],
    [
      'a deployment acknowledged in the meantime is forgotten and starts over when it is back',
      (s) => {
        const a = row(upsert('a'));
        const b = row(upsert('b'));
        const out = [tick(s, [a, b], 0)];
        out.push(tick(s, [b], 5000)); // a acknowledged: its sweep ended without it
        out.push(tick(s, [b], 10_000));
        out.push(tick(s, [a, b], 12_000)); // a unacknowledged again (same clock): sent at once
        return out;
      },
      [['a/c1', 'b/c1'], [], ['b/c1'], ['a/c1']],
    ],
  ])('%s', (_name, run, expected) => {
    expect(run(new ResendSchedule(policy, () => 0))).toEqual(expected);
  });

  it('jitter spreads deployments sent together over different times', () => {
    let draw = 0;
    const s = new ResendSchedule({ ...policy, perTick: 100 }, () => (draw++ % 10) / 10);
    const rows = Array.from({ length: 10 }, (_, i) => row(upsert(`b${i}`)));
    tick(s, rows, 0);
    const firstAgain = new Map<string, number>();
    for (let t = 1000; t <= 10_000; t += 1000) {
      for (const n of tick(s, rows, t)) if (!firstAgain.has(n)) firstAgain.set(n, t);
    }
    expect(new Set(firstAgain.values()).size).toBeGreaterThan(3);
  });
});
