import { Inject, Injectable, Logger } from '@nestjs/common';
import { Histogram, type Registry } from 'prom-client';
import type { NatsConnection } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import type { RolloutStrategy } from '../../libs/bundles/index.js';
import {
  RolloutChangeType,
  type RolloutRevisions,
  type RolloutTransition,
  type Subjects,
  rolloutChangeEvent,
} from '../../libs/contracts/index.js';
import type { TimerClock } from '../../libs/liveness/lease.js';
import {
  BundleRepository,
  ClusterGroupRepository,
  ClusterRepository,
  type DeploymentRow,
  DeploymentRepository,
  NotFoundError,
  type Rollout,
  RolloutRepository,
  TERMINAL_ROLLOUT_STATES,
} from '../../libs/db/index.js';
import { publishJson } from '../../libs/nats/index.js';
import {
  type ClusterObservation,
  type OperatorAction,
  type ReportedState,
  type RolloutPlan,
  type RolloutRecord,
  createRollout,
  planRollout,
  desiredRevisions,
  revisionLabel,
  supersedeRollout,
} from '../../libs/rollouts/index.js';
import { matchesLabels, selectorFromObject } from '../../libs/selectors/index.js';
import {
  CLOCK,
  DATA_SOURCE,
  METRICS_REGISTRY,
  NATS_CONNECTION,
  SUBJECTS,
} from '../shared/tokens.js';

/** Cluster groups read per query while observing clusters (all of them are read). */
const GROUP_PAGE = 1000;

/** Symbolic revisions the planner sees; each cluster maps them to its own variant's ids. */
const FROM = 'from';
const TO = 'to';
const REPORTED = ['WaitApplied', 'ErrApplied', 'Modified', 'NotReady', 'Ready', 'Pending'];

/**
 * Another replica changed the rollout between this pass's read and its write; nothing was
 * written, and the pass runs again from what is stored (retryable).
 */
export class RolloutChangedError extends Error {
  override name = 'RolloutChangedError';
}

/** A cluster sent back to the revision it ran before (null: remove the bundle). */
export interface RollbackMove {
  cluster: string;
  revision: string | null;
  commit: string | null;
}

/** What the controller decided for a bundle: who is held back (why), and rollbacks to apply. */
export interface RolloutDecision {
  held: Map<string, string>;
  rollbacks: RollbackMove[];
  rejected: { action: OperatorAction; reason: string }[];
  rollout: Rollout | undefined;
  /** When the bundle must be decided again without any event (the planner's `wakeAt`); null: only on events. */
  wakeAt: number | null;
  /** False when another replica holds the bundle's lease and nothing was decided here. */
  leased?: boolean;
}

/**
 * True when Git now asks a cluster of the rollout for another revision than the rollout moves it
 * to: at the same commit, a chart from a repository resolved to a new version.
 */
function movedOn(rollout: Rollout, rows: DeploymentRow[]): boolean {
  return rows.some((r) => {
    const rev = rollout.revisions[r.cluster];
    return rev !== undefined && r.targetRevision !== null && rev.to !== r.targetRevision;
  });
}

/**
 * Staged rollouts. For a bundle with a `rolloutStrategy`, a new commit (or, at the same commit, a
 * new revision: a chart range resolved to a new version) starts a rollout from the
 * revision each cluster runs to the one Git asks for; the pure planner decides, on every change
 * (deployment reports, operator actions, new revisions) and at the time it asks to be called again
 * (`wakeAt`: bake times, deadlines), which clusters may move, which must go back, and the
 * rollout's state; the controller carries its decisions out. State lives in PostgreSQL, so a
 * restarted hub continues where it stopped. Without a strategy, every cluster gets a new revision
 * at once.
 */
@Injectable()
export class RolloutController {
  private readonly logger = new Logger('Rollouts');
  /** Per rollout, the untracked clusters last reported (reported again only when they change). */
  private readonly untrackedSeen = new Map<string, string>();
  private readonly stageDuration: Histogram;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(CLOCK) private readonly clock: TimerClock,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly rollouts: RolloutRepository,
    private readonly deployments: DeploymentRepository,
    private readonly bundles: BundleRepository,
    private readonly groups: ClusterGroupRepository,
    private readonly clusters: ClusterRepository,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.stageDuration = new Histogram({
      name: 'flotilla_rollout_stage_duration_seconds',
      help: 'Time from a rollout stage starting to passing its gate (bake and approval included)',
      buckets: [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400],
      registers: [registry],
    });
  }

  /** Decides a bundle's holds and rollbacks now; `actions` are operator requests to apply. */
  async decide(
    bundle: string,
    actions: OperatorAction[] = [],
    now = this.clock.now(),
  ): Promise<RolloutDecision> {
    const decision: RolloutDecision = {
      held: new Map(),
      rollbacks: [],
      rejected: [],
      rollout: undefined,
      wakeAt: null,
    };
    // A bundle that is gone has no strategy; a stored strategy that does not parse is an error
    // (thrown), never taken for "no strategy", which would supersede the bundle's rollout.
    const b = await this.bundles.get(bundle).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    const strategy = b?.rolloutStrategy ?? undefined;
    let active = await this.rollouts.active(bundle);
    if (strategy === undefined) {
      // Every delivery passes here: without a strategy (the common case) there is nothing to plan.
      if (active) await this.supersede(active, 'the bundle no longer has a rolloutStrategy', now);
      return decision;
    }
    const rows = (await this.deployments.list({ bundles: [bundle] })).filter(
      (r) => r.targetRevision !== null,
    );
    const commit = rows[0]?.targetCommit ?? null;
    if (active && commit !== null && active.toCommit !== commit) {
      await this.supersede(active, `superseded by commit ${commit}`, now);
      active = undefined;
    }
    if (active && movedOn(active, rows)) {
      // Same commit, new content: a chart version range resolved to a new version.
      await this.supersede(active, 'superseded by a new revision of the same commit', now);
      active = undefined;
    }
    if (commit === null) return decision;

    if (!active) {
      const latest = await this.rollouts.latest(bundle);
      if (latest && latest.toCommit === commit && !movedOn(latest, rows)) {
        // This commit's rollout finished: keep its outcome (rolled back, skipped clusters, ...).
        return this.enforce(latest, rows, decision);
      }
      const moving = rows.filter((r) => r.targetRevision !== r.desiredRevision);
      if (moving.length === 0) return decision;
      active = await this.start(bundle, strategy, rows, commit, now);
    }
    // Every targeted cluster is observed: those the rollout does not know (targeted after it
    // began) come back as `untracked`.
    const observations = await this.observe(rows, active.revisions);
    const result = planRollout(strategy, active.record, observations, now, actions);
    decision.rejected = result.rejected ?? [];
    decision.wakeAt = result.wakeAt;
    if (JSON.stringify(result.record) !== JSON.stringify(active.record)) {
      active = await this.save(active, result.record, result.events);
    }
    await this.reportUntracked(active, result.untracked);
    return this.enforce(active, rows, decision, result);
  }

  /**
   * Clusters targeted after the rollout began are not part of it: they get Git's revision at once.
   * That is said loudly (a warning and an audit entry) whenever the set changes, never silently.
   */
  private async reportUntracked(rollout: Rollout, untracked: string[]): Promise<void> {
    if (TERMINAL_ROLLOUT_STATES.includes(rollout.state)) {
      this.untrackedSeen.delete(rollout.id);
      return;
    }
    const key = untracked.join(',');
    if ((this.untrackedSeen.get(rollout.id) ?? '') === key) return;
    this.untrackedSeen.set(rollout.id, key);
    if (untracked.length === 0) return;
    this.logger.warn(
      `rollout ${rollout.id.slice(0, 8)} of ${rollout.bundle}: clusters targeted after it began are not part of it and get Git's revision directly: ${untracked.join(', ')}`,
    );
    await this.rollouts.audit(rollout.id, [
      { actor: 'system', action: 'UntrackedClusters', detail: { clusters: untracked } },
    ]);
  }

  private async supersede(active: Rollout, reason: string, now: number): Promise<void> {
    await this.save(active, supersedeRollout(active.record, now, reason), [
      { type: 'Superseded', from: active.state, to: 'Superseded', reason },
    ]);
  }

  /** Creates the rollout of `commit`: each cluster from what it runs to what Git asks. */
  private async start(
    bundle: string,
    strategy: RolloutStrategy,
    rows: DeploymentRow[],
    commit: string,
    now: number,
  ): Promise<Rollout> {
    const revisions: RolloutRevisions = {};
    for (const r of rows) revisions[r.cluster] = { from: r.desiredRevision, to: r.targetRevision! };
    const observations = await this.observe(rows, revisions);
    const fromCommit = rows.find((r) => r.desiredCommit !== null)?.desiredCommit ?? null;
    const { record, unmatched } = createRollout(strategy, observations, FROM, TO, now, {
      from: revisionLabel(
        fromCommit,
        commit,
        rows.map((r) => r.desiredRevision),
      ),
      to: revisionLabel(
        commit,
        fromCommit,
        rows.map((r) => r.targetRevision),
      ),
    });
    // Created with its first audit entries in one transaction, under the bundle's rollout lock:
    // a replica that raced this one (its lease lapsed mid-pass) finds the rollout and fails its
    // pass, which runs again from what is stored.
    const rollout = await this.ds.transaction(async (m) => {
      await this.rollouts.lockBundle(bundle, m);
      const raced = await this.rollouts.active(bundle, m);
      if (raced !== undefined) {
        throw new RolloutChangedError(
          `rollout ${raced.id} of ${bundle} was started by another replica meanwhile`,
        );
      }
      const created = await this.rollouts.create(
        {
          bundle,
          fromCommit,
          toCommit: commit,
          state: record.state,
          strategy: strategy,
          record,
          revisions,
        },
        m,
      );
      await this.rollouts.audit(
        created.id,
        [
          {
            actor: 'system',
            action: 'Created',
            toState: record.state,
            detail: { fromCommit, toCommit: commit },
          },
          ...(unmatched.length > 0
            ? [{ actor: 'system', action: 'UnmatchedClusters', detail: { clusters: unmatched } }]
            : []),
        ],
        m,
      );
      return created;
    });
    if (unmatched.length > 0) {
      this.logger.warn(
        `rollout of ${bundle} to ${commit.slice(0, 8)}: clusters matching no stage are held back: ${unmatched.join(', ')}`,
      );
    }
    this.announce(rollout, RolloutChangeType.RolloutCreated);
    return rollout;
  }

  /** Cluster observations, in the planner's symbolic revisions. */
  private async observe(
    rows: DeploymentRow[],
    revisions: RolloutRevisions,
  ): Promise<ClusterObservation[]> {
    const names = rows.map((r) => r.cluster);
    const labels = await this.clusters.labelsOf(names);
    const groups: { name: string; reqs: ReturnType<typeof selectorFromObject> }[] = [];
    for (let after: string | undefined; ;) {
      const page = await this.groups.list({ limit: GROUP_PAGE, ...(after ? { after } : {}) });
      for (const g of page.items)
        groups.push({ name: g.name, reqs: selectorFromObject(g.selector) });
      if (page.items.length < GROUP_PAGE) break;
      after = page.items[page.items.length - 1]!.name;
    }
    return rows.map((r) => {
      const rev = revisions[r.cluster];
      const clusterLabels = labels.get(r.cluster) ?? {};
      const reported =
        r.appliedRevision === null || !rev
          ? null
          : r.appliedRevision === rev.to
            ? TO
            : r.appliedRevision === rev.from
              ? FROM
              : r.appliedRevision;
      return {
        name: r.cluster,
        labels: clusterLabels,
        groups: groups.filter((g) => matchesLabels(g.reqs, clusterLabels)).map((g) => g.name),
        online: r.clusterState === 'Online',
        reportedRevision: reported,
        reportedState: (REPORTED.includes(r.state) ? r.state : 'Pending') as ReportedState,
      };
    });
  }

  /**
   * Carries out the planner's decisions for the bundle's clusters: the clusters it released this
   * pass (`plan.release`) and those it already released run the new revision; the clusters it
   * sends back (`plan.rollback`) get an explicit move to the revision they ran before; every other
   * cluster is held, with the reason. Without a fresh plan (a finished rollout) the same level is
   * re-applied from the record (`desiredRevisions`), so a pass cut short after the record was
   * stored is completed by the next one.
   */
  private enforce(
    rollout: Rollout,
    rows: DeploymentRow[],
    decision: RolloutDecision,
    plan?: RolloutPlan,
  ): RolloutDecision {
    decision.rollout = rollout;
    const record = rollout.record;
    const wanted = desiredRevisions(record);
    const released = new Set(plan?.release ?? []);
    const sentBack = new Set(plan?.rollback ?? []);
    const id = rollout.id.slice(0, 8);
    const suffix = record.reason ? `: ${record.reason}` : '';
    for (const r of rows) {
      const info = record.clusters[r.cluster];
      const rev = rollout.revisions[r.cluster];
      if (!info || !rev) continue; // untracked (reported): gets Git's revision
      if (released.has(r.cluster) || wanted[r.cluster] === TO) continue;
      if (record.state === 'RolledBack') {
        const at =
          rollout.fromCommit === null
            ? 'not deployed (first deployment)'
            : `held at ${rollout.fromCommit.slice(0, 8)}`;
        decision.held.set(r.cluster, `${at}: rollout ${id} RolledBack${suffix}`);
        if (sentBack.has(r.cluster) || r.desiredRevision !== rev.from) {
          decision.rollbacks.push({
            cluster: r.cluster,
            revision: rev.from,
            commit: rollout.fromCommit,
          });
        }
      } else if (info.state === 'Skipped') {
        decision.held.set(r.cluster, `${info.reason ?? 'matches no stage'} of rollout ${id}`);
      } else if (record.state === 'Paused') {
        decision.held.set(r.cluster, `rollout ${id} is paused${suffix}`);
      } else if (record.state === 'Aborted' || record.state === 'Failed') {
        decision.held.set(r.cluster, `rollout ${id} ${record.state.toLowerCase()}`);
      } else {
        decision.held.set(r.cluster, `waiting for stage ${info.stage ?? '?'} of rollout ${id}`);
      }
    }
    return decision;
  }

  /** Persists a new record with its audit trail and announces it. */
  private async save(
    rollout: Rollout,
    record: RolloutRecord,
    events: RolloutTransition[],
  ): Promise<Rollout> {
    for (const e of events) {
      if (e.type !== 'StageStateChanged' || e.to !== 'Succeeded' || e.stage === undefined) continue;
      const started = record.stages.find((s) => s.name === e.stage)?.startedAt;
      if (started !== undefined) {
        this.stageDuration.observe(Math.max(0, (this.clock.now() - started) / 1000));
      }
    }
    // The new record and its audit trail are stored together, and only over the record this
    // pass planned from: a transition is recorded once, even by two replicas at once.
    await this.ds.transaction(async (m) => {
      const saved = await this.rollouts.update(
        rollout.id,
        {
          state: record.state,
          record,
          reason: record.reason ?? null,
        },
        rollout.record,
        m,
      );
      if (!saved) {
        throw new RolloutChangedError(
          `rollout ${rollout.id} of ${rollout.bundle} was changed by another replica meanwhile`,
        );
      }
      await this.rollouts.audit(
        rollout.id,
        events.map((e) => ({
          actor: e.by ?? 'system',
          action: e.type,
          fromState: e.from ?? null,
          toState: e.to ?? null,
          detail: {
            ...(e.stage ? { stage: e.stage } : {}),
            ...(e.cluster ? { cluster: e.cluster } : {}),
            ...(e.reason ? { reason: e.reason } : {}),
          },
        })),
        m,
      );
    });
    const updated = await this.rollouts.get(rollout.id);
    if (updated.state !== rollout.state || events.length > 0)
      this.announce(updated, RolloutChangeType.RolloutChanged, events);
    return updated;
  }

  private announce(
    rollout: Rollout,
    type: RolloutChangeType,
    events: RolloutTransition[] = [],
  ): void {
    publishJson(
      this.nc,
      this.subjects.event('rollout', rollout.id),
      rolloutChangeEvent(type, rollout, events),
    );
  }
}
