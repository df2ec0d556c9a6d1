import { describe, expect, it } from 'vitest';
import { formatSelfTime, selfTimeByFunction, type CpuProfile } from './self-time.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

/** root → a (x.js:1) → b (y.js:5); c is a second node of the same function as a. */
const nodes: CpuProfile['nodes'] = [
  { id: 1, callFrame: frame('(root)') },
  { id: 2, callFrame: frame('a', 'file:///w/dist/x.js', 0) },
  { id: 3, callFrame: frame('b', 'file:///w/node_modules/y/y.js', 4) },
  { id: 4, callFrame: frame('a', 'file:///w/dist/x.js', 0) },
  { id: 5, callFrame: frame('') },
  { id: 6, callFrame: frame('(garbage collector)') },
];

describe('selfTimeByFunction', () => {
  const cases: { name: string; profile: CpuProfile; want: [string, number, number][] }[] = [
    {
      name: 'no samples',
      profile: { nodes, startTime: 0, endTime: 1000 },
      want: [],
    },
    {
      name: 'the last sample runs to the end of the profile',
      profile: { nodes, startTime: 0, endTime: 3000, samples: [2], timeDeltas: [1000] },
      want: [['a (dist/x.js:1)', 2, 100]],
    },
    {
      name: 'each sample counts the time to the next; nodes of one function are summed',
      profile: {
        nodes,
        startTime: 1000,
        endTime: 11_000,
        samples: [2, 3, 4, 6, 5],
        timeDeltas: [0, 1000, 2000, 3000, 1000],
      },
      want: [
        ['a (dist/x.js:1)', 4, 40],
        ['(anonymous)', 3, 30],
        ['b (node_modules/y/y.js:5)', 2, 20],
        ['(garbage collector)', 1, 10],
      ],
    },
    {
      name: 'a sample of an unknown node is reported as such',
      profile: { nodes, startTime: 0, endTime: 2000, samples: [9, 1], timeDeltas: [0, 1000] },
      want: [
        ['(root)', 1, 50],
        ['(unknown node 9)', 1, 50],
      ],
    },
  ];
  it.each(cases)('$name', ({ profile, want }) => {
    expect(selfTimeByFunction(profile).map((r) => [r.fn, r.ms, r.percent])).toEqual(want);
  });
});

describe('formatSelfTime', () => {
  it('prints the top rows, largest first, aligned', () => {
    const text = formatSelfTime(
      [
        { fn: 'a', ms: 12.34, percent: 60 },
        { fn: 'b', ms: 8, percent: 40 },
        { fn: 'c', ms: 1, percent: 5 },
      ],
      2,
    );
    expect(text.split('\n')).toEqual(['      12.3 ms  60.0 %  a', '       8.0 ms  40.0 %  b']);
  });
});
