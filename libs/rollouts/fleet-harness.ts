// Test support for the rollout planner: a fleet of observed clusters, an injected clock the
// test moves, and the planner called the way the hub controller calls it. Not exported from
// index.ts; only the specs of this folder use it.
import { RolloutStrategySchema, type RolloutStrategy } from '../bundles/fleet-yaml.js';
import { createRollout, planRollout } from './planner.js';
import type {
  ClusterObservation,
  ClusterRolloutState,
  OperatorAction,
  ReportedState,
  RolloutEvent,
  RolloutPlan,
  RolloutRecord,
  StageState,
} from './types.js';

/** The revision the clusters run before the rollout. */
export const OLD = 'rev-old';
/** The revision being rolled out. */
export const NEW = 'rev-new';

/** An online cluster reporting `OLD` Ready, unless `over` says otherwise. */
export function cluster(
  name: string,
  labels: Record<string, string> = {},
  over: Partial<ClusterObservation> = {},
): ClusterObservation {
  return {
    name,
    labels,
    groups: [],
    online: true,
    reportedRevision: OLD,
    reportedState: 'Ready',
    ...over,
  };
}

/** A validated strategy (defaults applied) from its fleet.yaml form. */
export function strategyOf(raw: unknown): RolloutStrategy {
  return RolloutStrategySchema.parse(raw);
}

/** Names of `n` clusters: `c1` … `cn`. */
export function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `c${i + 1}`);
}

/** One rollout driven by a test: it plays the agents and moves the clock. */
export class FleetHarness {
  now = 0;
  readonly strategy: RolloutStrategy;
  readonly observed = new Map<string, ClusterObservation>();
  record: RolloutRecord;
  readonly unmatched: string[];
  readonly warnings: string[];
  /** Every cluster ever released, in release order. */
  readonly released: string[] = [];
  /** Every cluster ever sent back, in order. */
  readonly rolledBack: string[] = [];
  readonly events: RolloutEvent[] = [];
  last: RolloutPlan | undefined;

  constructor(
    strategy: unknown,
    clusters: ClusterObservation[],
    fromRevision: string | null = OLD,
    toRevision = NEW,
  ) {
    this.strategy = strategyOf(strategy);
    for (const c of clusters) this.observed.set(c.name, c);
    const created = createRollout(this.strategy, clusters, fromRevision, toRevision, this.now);
    this.record = created.record;
    this.unmatched = created.unmatched;
    this.warnings = created.warnings;
  }

  /** Moves the clock by `ms`, then calls the planner as the controller does. */
  tick(ms = 0, actions: OperatorAction[] = []): RolloutPlan {
    this.now += ms;
    const plan = planRollout(
      this.strategy,
      this.record,
      [...this.observed.values()],
      this.now,
      actions,
    );
    this.record = plan.record;
    this.released.push(...plan.release);
    this.rolledBack.push(...plan.rollback);
    this.events.push(...plan.events);
    this.last = plan;
    return plan;
  }

  /** The agent of `name` reports `state` for `revision`. */
  report(name: string, revision: string | null, state: ReportedState, message?: string): this {
    const c = this.get(name);
    this.observed.set(name, {
      ...c,
      reportedRevision: revision,
      reportedState: state,
      ...(message === undefined ? {} : { message }),
    });
    return this;
  }

  /** `name` reports the new revision Ready. */
  ready(...clusters: string[]): this {
    for (const name of clusters) this.report(name, this.record.toRevision, 'Ready');
    return this;
  }

  /** `name`'s heartbeat lease lapses (`false`) or comes back (`true`). */
  setOnline(name: string, online: boolean): this {
    this.observed.set(name, { ...this.get(name), online });
    return this;
  }

  /** The rollout state of one cluster. */
  state(name: string): ClusterRolloutState | undefined {
    return this.record.clusters[name]?.state;
  }

  /** The state of every cluster, by name. */
  states(): Record<string, ClusterRolloutState> {
    return Object.fromEntries(Object.entries(this.record.clusters).map(([n, c]) => [n, c.state]));
  }

  /** The state of one stage. */
  stage(name: string): StageState | undefined {
    return this.record.stages.find((s) => s.name === name)?.state;
  }

  /** Clusters now Updating. */
  updating(): string[] {
    return Object.entries(this.record.clusters)
      .filter(([, c]) => c.state === 'Updating')
      .map(([n]) => n);
  }

  private get(name: string): ClusterObservation {
    const c = this.observed.get(name);
    if (c === undefined) throw new Error(`no cluster ${name} in the test fleet`);
    return c;
  }
}
