import { afterEach, describe, expect, it } from 'vitest';
import { fakeHubCli, type FakeAnswer } from '../fake-hub.testing.js';
import { buildProgram } from '../program.js';
import {
  clusterProgress,
  commitRange,
  currentStage,
  endedBadly,
  formatAuditDetail,
  formatStageSummary,
  formatTransition,
  listRow,
  parseInterval,
  resolveRolloutId,
  shortList,
  stageBarLine,
  summarizeStage,
  unmatchedWarning,
  watchChangeLines,
  watchFinalLine,
  type AuditEntry,
  type Rollout,
  type RolloutDetail,
  type RolloutStage,
} from './rollout.js';

const now = Date.parse('2025-06-01T12:00:00Z');
const ID = '5b0e2f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const OTHER = '5b0e9999-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const FROM = 'aaaaaaaa11111111222222223333333344444444';
const TO = 'bbbbbbbb11111111222222223333333344444444';

function stage(name: string, state: string, clusters: [string, string, string?][]): RolloutStage {
  return {
    name,
    state,
    approved: false,
    startedAt: null,
    bakedSince: null,
    clusters: clusters.map(([n, s, reason]) => ({
      name: n,
      state: s,
      ...(reason ? { reason } : {}),
      releasedAt: null,
      readySince: null,
    })),
  };
}

function rollout(overrides: Partial<Rollout> = {}): Rollout {
  return {
    id: ID,
    bundle: 'ring/app',
    fromCommit: FROM,
    toCommit: TO,
    state: 'Progressing',
    reason: 'started',
    failures: 0,
    createdAt: new Date(now - 90_000).toISOString(),
    updatedAt: new Date(now - 1000).toISOString(),
    finishedAt: null,
    stages: [
      stage('canary', 'Succeeded', [['c1', 'Succeeded']]),
      stage('rest', 'Progressing', [
        ['c2', 'Succeeded'],
        ['c3', 'Updating'],
        ['c4', 'Baking'],
        ['c5', 'Waiting'],
      ]),
    ],
    unmatched: [],
    ...overrides,
  };
}

describe('progress and stages', () => {
  it.each([
    { name: 'no stages', stages: [], want: { done: 0, total: 0 } },
    { name: 'mixed', stages: rollout().stages, want: { done: 2, total: 5 } },
    {
      name: 'failures are not done',
      stages: [
        stage('all', 'Progressing', [
          ['a', 'Failed'],
          ['b', 'TimedOut'],
          ['c', 'Succeeded'],
        ]),
      ],
      want: { done: 1, total: 3 },
    },
  ])('clusterProgress: $name', ({ stages, want }) => {
    expect(clusterProgress({ stages })).toEqual(want);
  });

  it.each([
    { stages: rollout().stages, want: 'rest' },
    { stages: [stage('a', 'Succeeded', []), stage('b', 'Succeeded', [])], want: undefined },
    { stages: [stage('a', 'AwaitingApproval', []), stage('b', 'Waiting', [])], want: 'a' },
  ])('currentStage is $want', ({ stages, want }) => {
    expect(currentStage({ stages })?.name).toBe(want);
  });

  it.each([
    {
      stage: stage('rest', 'Progressing', [
        ['c2', 'Succeeded'],
        ['c3', 'Updating'],
        ['c4', 'Baking'],
        ['c5', 'TimedOut'],
        ['c6', 'Waiting'],
      ]),
      want: {
        name: 'rest',
        state: 'Progressing',
        done: 1,
        total: 5,
        updating: ['c3'],
        baking: ['c4'],
        failed: ['c5'],
      },
      text: 'Progressing 1/5; updating c3; baking c4; failed c5',
    },
    {
      stage: stage('canary', 'Waiting', [['c1', 'Waiting']]),
      want: {
        name: 'canary',
        state: 'Waiting',
        done: 0,
        total: 1,
        updating: [],
        baking: [],
        failed: [],
      },
      text: 'Waiting 0/1',
    },
    {
      stage: stage('wide', 'Progressing', [
        ['a', 'Updating'],
        ['b', 'Updating'],
        ['c', 'Updating'],
        ['d', 'Updating'],
        ['e', 'Updating'],
      ]),
      want: {
        name: 'wide',
        state: 'Progressing',
        done: 0,
        total: 5,
        updating: ['a', 'b', 'c', 'd', 'e'],
        baking: [],
        failed: [],
      },
      text: 'Progressing 0/5; updating a, b, c +2 more',
    },
  ])('summarizeStage and formatStageSummary: $text', ({ stage: s, want, text }) => {
    const summary = summarizeStage(s);
    expect(summary).toEqual(want);
    expect(formatStageSummary(summary)).toBe(text);
  });

  it.each([
    { names: [], max: 3, want: '' },
    { names: ['a', 'b', 'c'], max: 3, want: 'a, b, c' },
    { names: ['a', 'b', 'c', 'd'], max: 2, want: 'a, b +2 more' },
  ])('shortList($names, $max) = "$want"', ({ names, max, want }) => {
    expect(shortList(names, max)).toBe(want);
  });

  it.each([
    { done: 0, total: 4, want: 'rest   ░░░░ 0/4  Progressing' },
    { done: 2, total: 4, want: 'rest   ██░░ 2/4  Progressing' },
    { done: 4, total: 4, want: 'rest   ████ 4/4  Progressing' },
    { done: 0, total: 0, want: 'rest   ████ 0/0  Progressing' },
  ])('stageBarLine $done/$total', ({ done, total, want }) => {
    const s = {
      name: 'rest',
      state: 'Progressing',
      done,
      total,
      updating: [],
      baking: [],
      failed: [],
    };
    expect(stageBarLine(s, 6, 4)).toBe(want);
  });

  it('stageBarLine names the clusters in motion', () => {
    expect(stageBarLine(summarizeStage(rollout().stages[1]!), 4, 4)).toBe(
      'rest █░░░ 1/4  Progressing; updating c3; baking c4',
    );
  });
});

describe('formatting rows and details', () => {
  it.each([
    { from: FROM, want: 'aaaaaaaa→bbbbbbbb' },
    { from: null, want: '<none>→bbbbbbbb' },
  ])('commitRange from $from', ({ from, want }) => {
    expect(commitRange({ fromCommit: from, toCommit: TO })).toBe(want);
  });

  it('listRow: short id, commits, progress, current stage, age', () => {
    expect(listRow(rollout(), now)).toEqual([
      '5b0e2f4a',
      'ring/app',
      'aaaaaaaa→bbbbbbbb',
      'Progressing',
      '2/5',
      'rest',
      '1m ago',
    ]);
    const done = rollout({
      state: 'Succeeded',
      stages: [stage('all', 'Succeeded', [['c1', 'Succeeded']])],
    });
    expect(listRow(done, now)[5]).toBe('-');
  });

  const entry = (detail: Record<string, unknown>): AuditEntry => ({
    at: '2025-06-01T11:59:00.123Z',
    actor: 'api',
    action: 'RolloutStateChanged',
    from: 'Progressing',
    to: 'Paused',
    ...detail,
  });
  it.each([
    { detail: {}, want: '' },
    {
      detail: { reason: 'paused by api: checking dashboards' },
      want: 'paused by api: checking dashboards',
    },
    {
      detail: { reason: 'Ready for 1s', cluster: 'c1', stage: 'canary' },
      want: 'stage=canary cluster=c1: Ready for 1s',
    },
    { detail: { fromCommit: null, toCommit: TO }, want: 'toCommit=bbbbbbbb' },
    { detail: { fromCommit: FROM, toCommit: TO }, want: 'fromCommit=aaaaaaaa toCommit=bbbbbbbb' },
    {
      detail: { toCommit: TO, zeta: 1, fromCommit: FROM, alpha: true },
      want: 'fromCommit=aaaaaaaa toCommit=bbbbbbbb alpha=true zeta=1',
    },
    { detail: { extra: { a: 1 } }, want: 'extra={"a":1}' },
    { detail: { clusters: ['c6', 'c7'] }, want: 'clusters=c6,c7' },
    { detail: { reason: 'line one\nline two' }, want: 'line one' },
  ])('formatAuditDetail → "$want"', ({ detail, want }) => {
    expect(formatAuditDetail(entry(detail))).toBe(want);
  });

  it.each([
    { from: 'Progressing', to: 'Paused', want: 'Progressing→Paused' },
    { from: null, to: 'Pending', want: '→Pending' },
    { from: null, to: null, want: '' },
  ])('formatTransition($from, $to)', ({ from, to, want }) => {
    expect(formatTransition(from, to)).toBe(want);
  });

  it('unmatched clusters are announced loudly, and only when there are some', () => {
    expect(unmatchedWarning({ unmatched: [] })).toBeUndefined();
    expect(unmatchedWarning({ unmatched: ['c6', 'c7'] })).toBe(
      'WARNING: 2 cluster(s) match no stage and are NOT updated by this rollout: c6, c7',
    );
  });

  it.each([
    { state: 'Succeeded', bad: false },
    { state: 'Aborted', bad: false },
    { state: 'Superseded', bad: false },
    { state: 'Failed', bad: true },
    { state: 'RolledBack', bad: true },
  ])('endedBadly($state) = $bad', ({ state, bad }) => {
    expect(endedBadly(state)).toBe(bad);
  });

  it.each([
    { value: '1', want: 1 },
    { value: '0.5', want: 0.5 },
    { value: '0', error: /positive number/ },
    { value: '-1', error: /positive number/ },
    { value: 'soon', error: /positive number/ },
    { value: '', error: /positive number/ },
  ])('parseInterval("$value")', ({ value, want, error }) => {
    if (error) expect(() => parseInterval(value)).toThrow(error);
    else expect(parseInterval(value)).toBe(want);
  });
});

describe('resolveRolloutId', () => {
  const ids = [ID, OTHER, 'c0ffee00-0000-4000-8000-000000000000'];
  it.each([
    { input: ID, want: ID },
    { input: ID.toUpperCase(), want: ID },
    { input: 'c0ff', want: 'c0ffee00-0000-4000-8000-000000000000' },
    { input: '5b0e2', want: ID },
    { input: '5b0e9', want: OTHER },
    { input: ' 5b0e2f4a ', want: ID },
    {
      input: '5b0',
      error: 'rollout id "5b0" is too short: give the full id or at least 4 characters of it',
    },
    {
      input: '5b0e',
      error:
        'rollout id prefix "5b0e" is ambiguous: it matches 2 rollouts (5b0e2f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b, 5b0e9999-1c2d-4e5f-8a9b-0c1d2e3f4a5b); give more characters',
    },
    { input: 'dead', error: 'no rollout id starts with "dead"' },
  ])('"$input"', ({ input, want, error }) => {
    if (error) expect(() => resolveRolloutId(input, ids)).toThrow(error);
    else expect(resolveRolloutId(input, ids)).toBe(want);
  });
});

describe('watch lines (not a terminal)', () => {
  const waiting = rollout({
    fromCommit: null,
    state: 'Progressing',
    stages: [
      stage('canary', 'Progressing', [['c1', 'Updating']]),
      stage('rest', 'Waiting', [
        ['c2', 'Waiting'],
        ['c3', 'Waiting'],
      ]),
    ],
  });
  const canaryBaking = rollout({
    ...waiting,
    stages: [stage('canary', 'Baking', [['c1', 'Succeeded']]), waiting.stages[1]!],
  });
  const restMoving = rollout({
    ...waiting,
    stages: [
      stage('canary', 'Succeeded', [['c1', 'Succeeded']]),
      stage('rest', 'Progressing', [
        ['c2', 'Updating'],
        ['c3', 'Updating'],
      ]),
    ],
  });
  const paused = rollout({
    ...restMoving,
    state: 'Paused',
    reason: 'paused by api: checking dashboards',
  });

  it.each([
    {
      name: 'first snapshot: header and every stage',
      prev: undefined,
      next: waiting,
      want: [
        'rollout 5b0e2f4a ring/app <none>→bbbbbbbb: Progressing 0/3 clusters (started)',
        'stage canary: Progressing 0/1; updating c1',
        'stage rest: Waiting 0/2',
      ],
    },
    {
      name: 'no change, no line',
      prev: waiting,
      next: { ...waiting, updatedAt: 'later' },
      want: [],
    },
    {
      name: 'one stage changed',
      prev: waiting,
      next: canaryBaking,
      want: ['stage canary: Baking 1/1'],
    },
    {
      name: 'two stages changed, in stage order',
      prev: canaryBaking,
      next: restMoving,
      want: ['stage canary: Succeeded 1/1', 'stage rest: Progressing 0/2; updating c2, c3'],
    },
    {
      name: 'state changed, with its reason',
      prev: restMoving,
      next: paused,
      want: ['state: Progressing → Paused (paused by api: checking dashboards)'],
    },
  ])('$name', ({ prev, next, want }) => {
    expect(watchChangeLines(prev, next)).toEqual(want);
  });

  it.each([
    {
      r: rollout({
        state: 'Succeeded',
        reason: 'every stage passed',
        stages: [stage('all', 'Succeeded', [['c1', 'Succeeded']])],
      }),
      want: 'rollout 5b0e2f4a ring/app aaaaaaaa→bbbbbbbb ended Succeeded: 1/1 clusters succeeded — every stage passed',
    },
    {
      r: rollout({
        state: 'RolledBack',
        reason: 'rolled back: c1 failed',
        stages: [
          stage('canary', 'Progressing', [['c1', 'Failed']]),
          stage('rest', 'Waiting', [['c2', 'Waiting']]),
        ],
      }),
      want: 'rollout 5b0e2f4a ring/app aaaaaaaa→bbbbbbbb ended RolledBack: 0/2 clusters succeeded, 1 failed (c1) — rolled back: c1 failed',
    },
  ])('final line for $r.state', ({ r, want }) => {
    expect(watchFinalLine(r)).toBe(want);
  });
});

describe('rollout commands against a fake hub', () => {
  const cli = fakeHubCli(now);
  afterEach(() => cli.close());
  const run = cli.run;

  const detail = (overrides: Partial<RolloutDetail> = {}): RolloutDetail => ({
    ...rollout(),
    audit: [
      {
        at: '2025-06-01T11:58:30.000Z',
        actor: 'system',
        action: 'Created',
        from: null,
        to: 'Pending',
        fromCommit: FROM,
        toCommit: TO,
      },
      {
        at: '2025-06-01T11:59:00.500Z',
        actor: 'api',
        action: 'RolloutStateChanged',
        from: 'Progressing',
        to: 'Paused',
        reason: 'paused by api: checking dashboards',
      },
    ],
    ...overrides,
  });

  it('list passes the filters and prints one row per rollout', async () => {
    const { stdout, requests } = await run(
      ['rollout', 'list', '--bundle', 'ring/app', '--state', 'Progressing'],
      () => ({ status: 200, body: { items: [rollout()] } }),
    );
    expect(requests[0]).toMatchObject({
      path: '/api/v1/rollouts',
      query: { bundle: 'ring/app', state: 'Progressing' },
    });
    expect(stdout).toBe(
      [
        'ID         BUNDLE     FROM→TO             STATE         PROGRESS   STAGE   AGE',
        '5b0e2f4a   ring/app   aaaaaaaa→bbbbbbbb   Progressing   2/5        rest    1m ago',
        '',
      ].join('\n'),
    );
  });

  it('list says so when there are none', async () => {
    const { stdout } = await run(['rollout', 'list'], () => ({ status: 200, body: { items: [] } }));
    expect(stdout).toBe('No rollouts found.\n');
  });

  it('get resolves a prefix through the list and prints stages, clusters, unmatched and audit', async () => {
    const { stdout, requests, error } = await run(['rollout', 'get', '5b0e2'], (req) =>
      req.path === '/api/v1/rollouts'
        ? { status: 200, body: { items: [rollout(), rollout({ id: OTHER })] } }
        : { status: 200, body: detail({ unmatched: ['c6'] }) },
    );
    expect(error).toBeUndefined();
    expect(requests.map((r) => r.path)).toEqual(['/api/v1/rollouts', `/api/v1/rollouts/${ID}`]);
    const text = stdout;
    expect(text.split('\n')[0]).toBe(
      `Rollout ${ID} of ring/app aaaaaaaa→bbbbbbbb: Progressing (started); 2/5 clusters succeeded, 0 failure(s); created 1m ago`,
    );
    expect(text).toContain(
      [
        'NAME     STATE         CLUSTERS',
        'canary   Succeeded     1/1',
        'rest     Progressing   1/4',
      ].join('\n'),
    );
    expect(text).toMatch(/^CLUSTER\s+STAGE\s+STATE\s+REASON$/m);
    expect(text).toMatch(/^c3\s+rest\s+Updating$/m);
    expect(text).toContain(
      'WARNING: 1 cluster(s) match no stage and are NOT updated by this rollout: c6',
    );
    expect(text).toMatch(/^AT\s+ACTOR\s+ACTION\s+FROM→TO\s+DETAIL$/m);
    expect(text).toMatch(
      /^2025-06-01T11:58:30Z\s+system\s+Created\s+→Pending\s+fromCommit=aaaaaaaa toCommit=bbbbbbbb$/m,
    );
    expect(text).toMatch(
      /^2025-06-01T11:59:00Z\s+api\s+RolloutStateChanged\s+Progressing→Paused\s+paused by api: checking dashboards$/m,
    );
  });

  it('get with a full id asks for it directly; -o json prints the object', async () => {
    const { stdout, requests } = await run(['rollout', 'get', ID, '-o', 'json'], () => ({
      status: 200,
      body: detail(),
    }));
    expect(requests.map((r) => r.path)).toEqual([`/api/v1/rollouts/${ID}`]);
    expect(JSON.parse(stdout)).toEqual(detail());
  });

  it('an ambiguous prefix is one clear error, before any action is sent', async () => {
    const { error, requests } = await run(['rollout', 'pause', '5b0e'], () => ({
      status: 200,
      body: { items: [rollout(), rollout({ id: OTHER })] },
    }));
    expect(error?.message).toMatch(/^rollout id prefix "5b0e" is ambiguous: it matches 2 rollouts/);
    expect(requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('actions post the reason and print the new state', async () => {
    const paused = rollout({ state: 'Paused', reason: 'paused by api: checking dashboards' });
    const { stdout, requests } = await run(
      ['rollout', 'pause', ID, '--reason', 'checking dashboards'],
      () => ({ status: 200, body: paused }),
    );
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: `/api/v1/rollouts/${ID}/pause`,
      body: { reason: 'checking dashboards' },
    });
    expect(stdout).toBe(
      [
        'ID         BUNDLE     STATE    PROGRESS   STAGE   REASON',
        '5b0e2f4a   ring/app   Paused   2/5        rest    paused by api: checking dashboards',
        '',
      ].join('\n'),
    );
  });

  it.each(['resume', 'promote', 'abort', 'rollback'])('%s posts to its action', async (action) => {
    const { requests, stdout } = await run(['rollout', action, ID, '-o', 'yaml'], () => ({
      status: 200,
      body: rollout(),
    }));
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: `/api/v1/rollouts/${ID}/${action}`,
      body: {},
    });
    expect(stdout).toContain(`id: ${ID}`);
  });

  it('promote --stage names the stage the operator means, so a stale promote is refused', async () => {
    const { requests } = await run(
      ['rollout', 'promote', ID, '--stage', 'canary', '--reason', 'dashboards green'],
      () => ({ status: 200, body: rollout() }),
    );
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: `/api/v1/rollouts/${ID}/promote`,
      body: { stage: 'canary', reason: 'dashboards green' },
    });
  });

  it("a refused action is the hub's message", async () => {
    const { error } = await run(['rollout', 'pause', ID], () => ({
      status: 409,
      body: { statusCode: 409, message: 'the rollout is already paused' },
    }));
    expect(error?.message).toBe('the rollout is already paused');
  });

  /** Answers GET with the given snapshots in turn, then keeps answering the last one. */
  function sequence(...snapshots: Rollout[]) {
    let i = 0;
    return (): FakeAnswer => {
      const r = snapshots[Math.min(i++, snapshots.length - 1)]!;
      return { status: 200, body: { ...r, audit: [] } };
    };
  }
  const progressing = rollout({
    state: 'Progressing',
    stages: [
      stage('canary', 'Progressing', [['c1', 'Updating']]),
      stage('rest', 'Waiting', [['c2', 'Waiting']]),
    ],
  });
  const canaryDone = rollout({
    state: 'Progressing',
    stages: [
      stage('canary', 'Succeeded', [['c1', 'Succeeded']]),
      stage('rest', 'Progressing', [['c2', 'Updating']]),
    ],
  });
  const succeeded = rollout({
    state: 'Succeeded',
    reason: 'every stage passed',
    finishedAt: new Date(now).toISOString(),
    stages: [
      stage('canary', 'Succeeded', [['c1', 'Succeeded']]),
      stage('rest', 'Succeeded', [['c2', 'Succeeded']]),
    ],
  });

  it('watch prints a line per change and ends on a terminal state', async () => {
    const { stdout, error, requests } = await run(
      ['rollout', 'watch', ID, '--interval', '0.01'],
      sequence(progressing, progressing, canaryDone, succeeded),
    );
    expect(error).toBeUndefined();
    expect(requests).toHaveLength(4);
    expect(stdout).toBe(
      [
        'rollout 5b0e2f4a ring/app aaaaaaaa→bbbbbbbb: Progressing 0/2 clusters (started)',
        'stage canary: Progressing 0/1; updating c1',
        'stage rest: Waiting 0/1',
        'stage canary: Succeeded 1/1',
        'stage rest: Progressing 0/1; updating c2',
        'state: Progressing → Succeeded (every stage passed)',
        'stage rest: Succeeded 1/1',
        'rollout 5b0e2f4a ring/app aaaaaaaa→bbbbbbbb ended Succeeded: 2/2 clusters succeeded — every stage passed',
        '',
      ].join('\n'),
    );
  });

  it('watch fails (exit 1) when the rollout ends RolledBack, after saying so', async () => {
    const rolledBack = rollout({
      ...progressing,
      state: 'RolledBack',
      reason: 'c1 failed; rolled back',
      failures: 1,
      stages: [
        stage('canary', 'Progressing', [['c1', 'Failed', 'ErrApplied: boom']]),
        stage('rest', 'Waiting', [['c2', 'Waiting']]),
      ],
    });
    const { stdout, error } = await run(
      ['rollout', 'watch', ID, '--interval', '0.01'],
      sequence(progressing, rolledBack),
    );
    expect(error?.message).toBe('rollout 5b0e2f4a ended RolledBack');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      'rollout 5b0e2f4a ring/app aaaaaaaa→bbbbbbbb ended RolledBack: 0/2 clusters succeeded, 1 failed (c1) — c1 failed; rolled back',
    );
  });

  it('watch -o json prints each changed snapshot as one JSON line', async () => {
    const { stdout, error } = await run(
      ['rollout', 'watch', ID, '--interval', '0.01', '-o', 'json'],
      sequence(progressing, progressing, succeeded),
    );
    expect(error).toBeUndefined();
    const docs = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Rollout);
    expect(docs.map((d) => d.state)).toEqual(['Progressing', 'Succeeded']);
    expect(docs[0]).not.toHaveProperty('audit');
  });

  it('watch on a terminal draws progress bars and ends with the final line', async () => {
    const { stdout, error } = await run(
      ['rollout', 'watch', ID, '--interval', '0.01'],
      sequence(progressing, canaryDone, succeeded),
      { isTTY: true, columns: 120 },
    );
    expect(error).toBeUndefined();
    const text = stdout;
    expect(text).toContain('rollout 5b0e2f4a ring/app aaaaaaaa→bbbbbbbb: Succeeded 2/2 clusters');
    expect(text).toContain(`canary ${'█'.repeat(24)} 1/1  Succeeded`);
    expect(text).toContain(`rest   ${'█'.repeat(24)} 1/1  Succeeded`);
    expect(
      text.trimEnd().endsWith('ended Succeeded: 2/2 clusters succeeded — every stage passed'),
    ).toBe(true);
  });

  /** Runs the program with an injected fetch: each call takes the next answer (or failure). */
  async function runWithFetch(args: string[], answers: (Rollout | Error)[]) {
    let stdout = '';
    let stderr = '';
    let calls = 0;
    const fetchImpl = (() => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(
        new Response(JSON.stringify({ ...answer, audit: [] }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
      );
    }) as typeof fetch;
    const program = buildProgram({
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      fetch: fetchImpl,
      now: Date.now,
    });
    const error = await program
      .parseAsync(['node', 'flotilla', ...args, '--server', 'http://hub.test'], { from: 'node' })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    return { stdout, stderr, error, calls: () => calls };
  }
  const refused = () =>
    new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:8080') });

  it('watch keeps polling through a short hub outage, saying so once', async () => {
    const { stdout, stderr, error, calls } = await runWithFetch(
      ['rollout', 'watch', ID, '--interval', '0.01'],
      [progressing, refused(), refused(), succeeded],
    );
    expect(error).toBeUndefined();
    expect(calls()).toBe(4);
    expect(stderr).toBe(
      'cannot reach the hub at http://hub.test: connect ECONNREFUSED 127.0.0.1:8080; retrying for up to 30s\n',
    );
    expect(stdout).toMatch(/ended Succeeded/);
  });

  it('watch fails at once when the hub cannot be reached at the start', async () => {
    const { error, calls } = await runWithFetch(
      ['rollout', 'watch', ID, '--interval', '0.01'],
      [refused(), succeeded],
    );
    expect(error?.message).toBe(
      'cannot reach the hub at http://hub.test: connect ECONNREFUSED 127.0.0.1:8080',
    );
    expect(calls()).toBe(1);
  });

  it('watch rejects a bad --interval before asking the hub', async () => {
    const { error, requests } = await run(['rollout', 'watch', ID, '--interval', '0'], () => ({
      status: 200,
      body: {},
    }));
    expect(error?.message).toMatch(/--interval "0": expected a positive number/);
    expect(requests).toHaveLength(0);
  });
});
