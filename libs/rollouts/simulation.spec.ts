// Whole rollouts over a small simulated fleet: a loop plays the agents (they apply what the
// planner's record says each cluster should run, and become Ready, fail or never get Ready after
// a delay) and calls the planner every 5 seconds of an injected clock, as the hub does.
import { describe, expect, it } from 'vitest';
import { describeRollout } from './describe.js';
import { FleetHarness, NEW, OLD, cluster } from './fleet-harness.js';
import { desiredRevisions } from './planner.js';
import { isTerminal, type RolloutEvent } from './types.js';

const S = 1_000;
const TICK = 5 * S;

type Outcome = 'ready' | 'fail' | 'never-ready';

interface Agent {
  /** How long after applying the new revision it reports its outcome. */
  readyAfter: number;
  outcome: Outcome;
  appliedAt: number;
}

/** Five clusters, `canary` first in its own stage; `outcomes` overrides how a cluster behaves. */
function simulate(strategy: unknown, outcomes: Record<string, Outcome> = {}) {
  const clusters = [
    cluster('canary', { ring: 'canary' }),
    ...['r1', 'r2', 'r3', 'r4'].map((n) => cluster(n)),
  ];
  const fleet = new FleetHarness(strategy, clusters);
  const agents = new Map<string, Agent>(
    clusters.map((c, i) => [
      c.name,
      { readyAfter: (2 + i) * S * 3, outcome: outcomes[c.name] ?? 'ready', appliedAt: 0 },
    ]),
  );
  const maxUpdatingInRest: number[] = [];

  const playAgents = (): void => {
    const desired = desiredRevisions(fleet.record);
    for (const [name, agent] of agents) {
      const want = desired[name] ?? null;
      const obs = fleet.observed.get(name)!;
      if (obs.reportedRevision !== want) {
        agent.appliedAt = fleet.now;
        fleet.report(name, want, 'WaitApplied');
        continue;
      }
      if (obs.reportedState === 'Ready' || obs.reportedState === 'ErrApplied') continue;
      if (fleet.now - agent.appliedAt < agent.readyAfter) continue;
      // Going back to the old revision always works; the new one behaves as told.
      const outcome = want === NEW ? agent.outcome : 'ready';
      if (outcome === 'ready') fleet.report(name, want, 'Ready');
      else if (outcome === 'fail') fleet.report(name, want, 'ErrApplied', 'admission denied');
      else fleet.report(name, want, 'NotReady', 'pods not ready');
    }
  };

  fleet.tick();
  while (!isTerminal(fleet.record.state) && fleet.now < 2 * 3_600 * S) {
    playAgents();
    fleet.tick(TICK);
    maxUpdatingInRest.push(fleet.updating().filter((n) => n !== 'canary').length);
  }
  // Let the agents carry out the last decisions (a rollback) before the test looks at them.
  for (let i = 0; i < 20; i++) {
    playAgents();
    fleet.now += TICK;
  }
  return { fleet, maxUpdatingInRest };
}

const transitions = (events: RolloutEvent[], type: RolloutEvent['type']) =>
  events
    .filter((e) => e.type === type)
    .map((e) => `${e.stage ?? ''}${e.cluster ? `/${e.cluster}` : ''} ${e.from}→${e.to}`);

describe('simulated rollout of 5 clusters (1 canary)', () => {
  const strategy = {
    stages: [
      {
        name: 'canary',
        clusterSelector: { matchLabels: { ring: 'canary' } },
        maxUnavailable: 1,
        bakeTime: '60s',
      },
      { name: 'rest', maxUnavailable: 2, bakeTime: '30s' },
    ],
    progressDeadline: '2m',
  };

  it('reaches every cluster, the canary first and baked, never more than 2 of the rest at once', () => {
    const { fleet, maxUpdatingInRest } = simulate(strategy);
    expect(fleet.record.state).toBe('Succeeded');
    expect(fleet.released[0]).toBe('canary');
    expect([...fleet.released].sort()).toEqual(['canary', 'r1', 'r2', 'r3', 'r4']);
    for (const name of ['canary', 'r1', 'r2', 'r3', 'r4']) {
      expect(fleet.observed.get(name)).toMatchObject({
        reportedRevision: NEW,
        reportedState: 'Ready',
      });
    }
    // No cluster of the rest was released before the canary had been Ready for 60s.
    const canaryReady = fleet.events.find((e) => e.cluster === 'canary' && e.to === 'Baking')!.at;
    const firstRest = fleet.events.find((e) => e.cluster === 'r1' && e.to === 'Updating')!.at;
    expect(firstRest - canaryReady).toBeGreaterThanOrEqual(60 * S);
    expect(Math.max(...maxUpdatingInRest)).toBe(2);
    expect(transitions(fleet.events, 'StageStateChanged')).toEqual([
      'canary Waiting→Progressing',
      'canary Progressing→Baking',
      'canary Baking→Succeeded',
      'rest Waiting→Progressing',
      'rest Progressing→Baking',
      'rest Baking→Succeeded',
    ]);
    expect(transitions(fleet.events, 'RolloutStateChanged')).toEqual([
      ' Pending→Progressing',
      ' Progressing→Succeeded',
    ]);
    expect(describeRollout(fleet.record)).toBe(
      [
        'Succeeded rev-old → rev-new — every stage passed and every cluster runs the new revision',
        '  stage canary Succeeded (1/1 succeeded)',
        '  stage rest Succeeded (4/4 succeeded)',
      ].join('\n'),
    );
  });

  it('a cluster of the rest that fails makes onFailure rollback return every released cluster to the old revision', () => {
    const { fleet } = simulate({ ...strategy, onFailure: 'rollback' }, { r2: 'fail' });
    expect(fleet.record.state).toBe('RolledBack');
    expect(fleet.record.clusters.r2?.state).toBe('Failed');
    expect(fleet.rolledBack).toEqual([...fleet.released].sort());
    expect(fleet.released).not.toContain('r4');
    for (const name of ['canary', 'r1', 'r2', 'r3', 'r4']) {
      expect(fleet.observed.get(name)).toMatchObject({
        reportedRevision: OLD,
        reportedState: 'Ready',
      });
    }
  });

  it('a cluster of the rest that never gets Ready times out and pauses the rollout; nothing is released after the pause', () => {
    const { fleet } = simulate(strategy, { r1: 'never-ready' });
    // The loop stops at its time limit: a paused rollout is not over.
    expect(fleet.record.state).toBe('Paused');
    expect(fleet.record.clusters.r1?.state).toBe('TimedOut');
    expect(fleet.record.reason).toMatch(/exceed maxFailures 0: r1 \(TimedOut\)/);
    const pausedAt = fleet.events.find((e) => e.to === 'Paused')!.at;
    const releases = fleet.events.filter(
      (e) => e.type === 'ClusterStateChanged' && e.to === 'Updating',
    );
    expect(releases.every((e) => e.at < pausedAt)).toBe(true);
    expect(fleet.record.clusters.r4?.state).toBe('Succeeded');
    expect(describeRollout(fleet.record)).toBe(
      [
        'Paused rev-old → rev-new — 1 failed cluster(s) exceed maxFailures 0: r1 (TimedOut)',
        '  stage canary Succeeded (1/1 succeeded)',
        '  stage rest Progressing (3/4 succeeded): r1 TimedOut',
      ].join('\n'),
    );
  });
});
