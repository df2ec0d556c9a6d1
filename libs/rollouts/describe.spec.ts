import { describe, expect, it } from 'vitest';
import { revisionLabel } from './describe.js';

const A = 'aaaaaaaa11111111';
const B = 'bbbbbbbb22222222';
const R1 = 'r1r1r1r1r1r1r1r1';
const R2 = 'r2r2r2r2r2r2r2r2';

describe('revisionLabel', () => {
  it.each([
    { name: 'another commit is named by its commit', args: [A, B, [R1]], want: 'commit aaaaaaaa' },
    {
      name: 'clusters with different variants of one commit are still named by the commit',
      args: [A, B, [R1, R2, null]],
      want: 'commit aaaaaaaa',
    },
    {
      name: 'no commit means a first deployment',
      args: [null, B, [null]],
      want: 'the bundle removed (first deployment)',
    },
    {
      name: 'no cluster ran a revision means a first deployment',
      args: [A, B, [null, null]],
      want: 'the bundle removed (first deployment)',
    },
    {
      name: 'the same commit on both sides (a chart range moved on) is named by its revision',
      args: [A, A, [R1, R1]],
      want: 'revision r1r1r1r1r1r1 of commit aaaaaaaa',
    },
    {
      name: 'the same commit with several variants names each revision',
      args: [A, A, [R1, R2]],
      want: 'the revisions of commit aaaaaaaa: r1r1r1r1r1r1, r2r2r2r2r2r2',
    },
  ] as const)('$name', ({ args, want }) => {
    expect(revisionLabel(args[0], args[1], [...args[2]])).toBe(want);
  });
});
