// The rollout planner: a pure function from (strategy, stored record, observed clusters, operator
// actions, now) to a new record plus decisions: which clusters to release to the new revision,
// which to send back to the old one, the events of every transition, and when to call again.
// No I/O and no clock of its own: the controller stores the record, feeds observations and time,
// and carries out the decisions.
import type { RolloutStrategy } from '../bundles/fleet-yaml.js';
import { parseDuration } from '../config/duration.js';
import {
  DEFAULT_PROGRESS_DEADLINE_MS,
  assignStages,
  compareNames,
  maxFailuresOf,
  maxUnavailableOf,
  stagePlanOf,
  type StagePlan,
} from './stages.js';
import {
  ActionType,
  ClusterRolloutState,
  RolloutEventType,
  RolloutState,
  StageState,
  failedClusterStates,
  isTerminal,
  releasedClusterStates,
  type ClusterObservation,
  type ClusterRecord,
  type CreatedRollout,
  type OperatorAction,
  type RejectedAction,
  type RolloutEvent,
  type RolloutPlan,
  type RolloutRecord,
  type StageRecord,
} from './types.js';

/** Whether the observation shows the cluster Ready at `revision` now (online, fresh report). */
function readyAt(obs: ClusterObservation | undefined, revision: string): boolean {
  return (
    obs !== undefined &&
    obs.online &&
    obs.reportedRevision === revision &&
    obs.reportedState === 'Ready'
  );
}

/** Whether the agent reported a failed apply of `revision` (even if it went offline since). */
function erroredAt(obs: ClusterObservation | undefined, revision: string): boolean {
  return (
    obs !== undefined && obs.reportedRevision === revision && obs.reportedState === 'ErrApplied'
  );
}

function shortRevision(revision: string | null): string {
  return revision === null ? 'none' : revision.slice(0, 12);
}

/** How messages name the rollout's old revision (null: a first deployment). */
function fromName(record: RolloutRecord): string {
  if (record.fromLabel !== undefined) return record.fromLabel;
  return record.fromRevision === null
    ? 'the bundle removed (first deployment)'
    : `revision ${shortRevision(record.fromRevision)}`;
}

/** How messages name the rollout's new revision. */
function toName(record: RolloutRecord): string {
  return record.toLabel ?? `revision ${shortRevision(record.toRevision)}`;
}

/**
 * The state a stage ends in when its rollout ends in `state`: stages that passed stay Succeeded
 * (unless a rollback sent their clusters back), the others say the rollout stopped them.
 */
function finalStageState(state: RolloutState, stage: StageRecord): StageState {
  if (state === RolloutState.RolledBack) {
    return stage.state === StageState.Waiting ? StageState.Cancelled : StageState.RolledBack;
  }
  if (state === RolloutState.Aborted || state === RolloutState.Superseded) {
    return stage.state === StageState.Succeeded ? StageState.Succeeded : StageState.Cancelled;
  }
  return stage.state;
}

function describeObservation(obs: ClusterObservation | undefined, toRevision: string): string {
  if (obs === undefined) return 'not observed';
  if (!obs.online) return 'offline';
  if (obs.reportedRevision !== toRevision) {
    return obs.reportedRevision === null
      ? 'no report yet'
      : `still reports revision ${shortRevision(obs.reportedRevision)}`;
  }
  return obs.message ? `${obs.reportedState}: ${obs.message}` : obs.reportedState;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/**
 * Starts a rollout of `toRevision` over the targeted `clusters`: assigns each to its stage (see
 * `assignStages`), records clusters that match no stage as Skipped ("matches no stage") and
 * returns them in `unmatched`, and records clusters already reporting `toRevision` Ready as
 * Succeeded. The rollout is Pending until the first `planRollout`.
 */
export function createRollout(
  strategy: RolloutStrategy,
  clusters: readonly ClusterObservation[],
  fromRevision: string | null,
  toRevision: string,
  now: number,
  labels: { from?: string; to?: string } = {},
): CreatedRollout {
  const seen = new Set<string>();
  for (const c of clusters) {
    if (seen.has(c.name)) throw new Error(`cluster ${JSON.stringify(c.name)} is listed twice`);
    seen.add(c.name);
  }
  const byName = new Map(clusters.map((c) => [c.name, c]));
  const { stages, unmatched, warnings } = assignStages(strategy, clusters);
  const records: Record<string, ClusterRecord> = {};
  for (const stage of stages) {
    for (const name of stage.clusters) {
      const obs = byName.get(name);
      const upToDate = obs?.reportedRevision === toRevision && obs.reportedState === 'Ready';
      records[name] = upToDate
        ? {
            state: ClusterRolloutState.Succeeded,
            stage: stage.name,
            since: now,
            ...(obs.online ? { readySince: now } : {}),
            reason: 'already Ready at the new revision',
          }
        : { state: ClusterRolloutState.Waiting, stage: stage.name, since: now };
    }
  }
  for (const name of unmatched) {
    records[name] = {
      state: ClusterRolloutState.Skipped,
      stage: null,
      since: now,
      reason: 'matches no stage',
    };
  }
  const record: RolloutRecord = {
    state: RolloutState.Pending,
    fromRevision,
    toRevision,
    ...(labels.from === undefined ? {} : { fromLabel: labels.from }),
    ...(labels.to === undefined ? {} : { toLabel: labels.to }),
    stages: stages.map((s) => ({
      name: s.name,
      clusters: s.clusters,
      state: StageState.Waiting,
      approved: false,
    })),
    clusters: records,
    failures: 0,
    acceptedFailures: 0,
    createdAt: now,
    updatedAt: now,
  };
  return { record, unmatched, warnings };
}

/** The stage that has not passed yet and runs now (or will once the rollout starts). */
export function currentStage(record: RolloutRecord): StageRecord | undefined {
  return record.stages.find((s) => s.state !== StageState.Succeeded);
}

/**
 * Why `action` cannot be applied to the rollout now, or undefined when it can. The API answers
 * 409 with this text; `planRollout` rejects the same actions with the same reason.
 */
export function checkAction(record: RolloutRecord, action: OperatorAction): string | undefined {
  if (isTerminal(record.state)) {
    return `the rollout is ${record.state}; it cannot change any more`;
  }
  switch (action.type) {
    case ActionType.Pause:
      return record.state === RolloutState.Paused ? 'the rollout is already paused' : undefined;
    case ActionType.Resume:
      return record.state === RolloutState.Paused ? undefined : 'the rollout is not paused';
    case ActionType.Promote: {
      const stage = currentStage(record);
      if (stage === undefined) return 'no stage is left to promote';
      if (action.stage !== undefined && action.stage !== stage.name) {
        return `stage ${JSON.stringify(action.stage)} is not the current stage (${JSON.stringify(stage.name)})`;
      }
      return stage.approved ? `stage ${JSON.stringify(stage.name)} is already promoted` : undefined;
    }
    case ActionType.Abort:
    case ActionType.Rollback:
      return undefined;
  }
}

/** One planner call, on a private copy of the record. */
class Planning {
  readonly events: RolloutEvent[] = [];
  readonly release: string[] = [];
  readonly rollback: string[] = [];
  readonly rejected: RejectedAction[] = [];
  private readonly observed: Map<string, ClusterObservation>;
  private readonly deadline: number;

  constructor(
    private readonly strategy: RolloutStrategy,
    readonly record: RolloutRecord,
    observations: readonly ClusterObservation[],
    private readonly now: number,
  ) {
    this.observed = new Map(observations.map((o) => [o.name, o]));
    this.deadline =
      strategy.progressDeadline === undefined
        ? DEFAULT_PROGRESS_DEADLINE_MS
        : parseDuration(strategy.progressDeadline);
  }

  untracked(): string[] {
    return [...this.observed.keys()]
      .filter((name) => this.record.clusters[name] === undefined)
      .sort(compareNames);
  }

  private emit(event: Omit<RolloutEvent, 'at'>): void {
    this.events.push({ ...event, at: this.now });
  }

  private setState(to: RolloutState, reason: string, by?: string): void {
    const from = this.record.state;
    this.record.state = to;
    this.record.reason = reason;
    this.emit({
      type: RolloutEventType.RolloutStateChanged,
      from,
      to,
      reason,
      ...(by === undefined ? {} : { by }),
    });
  }

  private setStageState(stage: StageRecord, to: StageState, reason: string): void {
    if (stage.state === to) return;
    const from = stage.state;
    stage.state = to;
    this.emit({ type: RolloutEventType.StageStateChanged, stage: stage.name, from, to, reason });
  }

  private setClusterState(
    name: string,
    cluster: ClusterRecord,
    to: ClusterRolloutState,
    reason: string,
  ): void {
    const from = cluster.state;
    cluster.state = to;
    cluster.since = this.now;
    cluster.reason = reason;
    this.emit({
      type: RolloutEventType.ClusterStateChanged,
      ...(cluster.stage === null ? {} : { stage: cluster.stage }),
      cluster: name,
      from,
      to,
      reason,
    });
  }

  private stagePlan(stage: StageRecord): StagePlan {
    return stagePlanOf(this.strategy, stage.name);
  }

  private cluster(name: string): ClusterRecord {
    const cluster = this.record.clusters[name];
    if (cluster === undefined) throw new Error(`rollout record lacks cluster ${name}`);
    return cluster;
  }

  /** Applies one operator action, or records why not. */
  apply(action: OperatorAction): void {
    const problem = checkAction(this.record, action);
    if (problem !== undefined) {
      this.rejected.push({ action, reason: problem });
      return;
    }
    const note = action.reason ? `: ${action.reason}` : '';
    switch (action.type) {
      case ActionType.Pause:
        this.record.pausedBy = action.by;
        this.setState(RolloutState.Paused, `paused by ${action.by}${note}`, action.by);
        return;
      case ActionType.Resume: {
        delete this.record.pausedBy;
        const limit = this.failureLimit();
        if (this.record.failures - this.record.acceptedFailures > limit) {
          const before = this.record.acceptedFailures;
          this.record.acceptedFailures = this.record.failures;
          this.emit({
            type: RolloutEventType.FailuresAccepted,
            from: String(before),
            to: String(this.record.failures),
            reason: `${action.by} resumed despite ${this.record.failures} failure(s); only further failures beyond maxFailures ${limit} stop the rollout again`,
            by: action.by,
          });
        }
        this.setState(RolloutState.Progressing, `resumed by ${action.by}${note}`, action.by);
        return;
      }
      case ActionType.Promote: {
        const stage = currentStage(this.record);
        if (stage === undefined) return;
        stage.approved = true;
        this.emit({
          type: RolloutEventType.StageApproved,
          stage: stage.name,
          from: 'false',
          to: 'true',
          reason: `promoted by ${action.by}${note}: approval given, bake time waived`,
          by: action.by,
        });
        return;
      }
      case ActionType.Abort:
        this.setState(RolloutState.Aborted, `aborted by ${action.by}${note}`, action.by);
        return;
      case ActionType.Rollback:
        this.rollBack(`rolled back by ${action.by}${note}`, action.by);
        return;
    }
  }

  /** Ends the rollout RolledBack and sends every released cluster back. */
  private rollBack(reason: string, by?: string): void {
    const target = fromName(this.record);
    for (const [name, cluster] of Object.entries(this.record.clusters)) {
      if (!releasedClusterStates.includes(cluster.state)) continue;
      this.rollback.push(name);
      cluster.reason = `${cluster.reason ?? cluster.state}; rolled back to ${target}`;
    }
    this.rollback.sort(compareNames);
    this.setState(RolloutState.RolledBack, reason, by);
  }

  start(): void {
    if (this.record.state === RolloutState.Pending) {
      this.setState(RolloutState.Progressing, 'started');
    }
  }

  /** Moves released clusters along Updating → Baking → Succeeded | Failed | TimedOut. */
  observe(): void {
    const to = this.record.toRevision;
    for (const stage of this.record.stages) {
      const plan = this.stagePlan(stage);
      for (const name of stage.clusters) {
        const cluster = this.cluster(name);
        const obs = this.observed.get(name);
        switch (cluster.state) {
          case ClusterRolloutState.Updating:
            if (erroredAt(obs, to)) {
              this.setClusterState(
                name,
                cluster,
                ClusterRolloutState.Failed,
                `failed to apply the new revision (${describeObservation(obs, to)})`,
              );
            } else if (readyAt(obs, to)) {
              cluster.readySince = this.now;
              this.setClusterState(
                name,
                cluster,
                ClusterRolloutState.Baking,
                'Ready at the new revision',
              );
              this.finishBake(name, cluster, stage, plan);
            } else if (this.now - cluster.since >= this.deadline) {
              this.setClusterState(
                name,
                cluster,
                ClusterRolloutState.TimedOut,
                `not Ready at the new revision within progressDeadline ${formatMs(this.deadline)} (${describeObservation(obs, to)})`,
              );
            }
            break;
          case ClusterRolloutState.Baking:
            if (erroredAt(obs, to)) {
              delete cluster.readySince;
              this.setClusterState(
                name,
                cluster,
                ClusterRolloutState.Failed,
                `failed while baking (${describeObservation(obs, to)})`,
              );
            } else if (!readyAt(obs, to)) {
              delete cluster.readySince;
              this.setClusterState(
                name,
                cluster,
                ClusterRolloutState.Updating,
                `stopped being Ready while baking (${describeObservation(obs, to)})`,
              );
            } else {
              this.finishBake(name, cluster, stage, plan);
            }
            break;
          case ClusterRolloutState.Succeeded:
            // Until its stage passes, a Succeeded cluster must stay Ready for the stage gate.
            if (stage.state === StageState.Succeeded) break;
            if (!readyAt(obs, to)) delete cluster.readySince;
            else cluster.readySince ??= this.now;
            break;
          case ClusterRolloutState.Waiting:
          case ClusterRolloutState.Failed:
          case ClusterRolloutState.TimedOut:
          case ClusterRolloutState.Skipped:
            break;
        }
      }
    }
  }

  private finishBake(
    name: string,
    cluster: ClusterRecord,
    stage: StageRecord,
    plan: StagePlan,
  ): void {
    const since = cluster.readySince ?? this.now;
    if (stage.approved) {
      this.setClusterState(
        name,
        cluster,
        ClusterRolloutState.Succeeded,
        'Ready at the new revision (bake waived by promote)',
      );
    } else if (this.now - since >= plan.bakeTime) {
      const baked = plan.bakeTime > 0 ? ` for ${formatMs(plan.bakeTime)}` : '';
      this.setClusterState(
        name,
        cluster,
        ClusterRolloutState.Succeeded,
        `Ready at the new revision${baked}`,
      );
    }
  }

  private failureLimit(): number {
    const targeted = Object.values(this.record.clusters).filter(
      (c) => c.state !== ClusterRolloutState.Skipped,
    ).length;
    return maxFailuresOf(this.strategy.maxFailures, targeted);
  }

  /** Counts failures, and applies `onFailure` when they exceed `maxFailures`. */
  checkFailures(): void {
    const failed = Object.entries(this.record.clusters)
      .filter(([, c]) => failedClusterStates.includes(c.state))
      .map(([name, c]) => `${name} (${c.state})`)
      .sort(compareNames);
    this.record.failures = failed.length;
    const limit = this.failureLimit();
    if (failed.length - this.record.acceptedFailures <= limit) return;
    const reason = `${failed.length} failed cluster(s) exceed maxFailures ${limit}: ${failed.join(', ')}`;
    if (this.strategy.onFailure === 'rollback') {
      this.rollBack(reason);
    } else if (this.record.state === RolloutState.Paused) {
      // Paused by an operator already: say that it is held for the failures now.
      delete this.record.pausedBy;
      this.record.reason = reason;
    } else {
      this.setState(RolloutState.Paused, reason);
    }
  }

  /** Runs the stages in order: releases within maxUnavailable, passes gates, finishes. */
  advance(): void {
    let previous: StageRecord | undefined;
    for (const stage of this.record.stages) {
      if (stage.state === StageState.Succeeded) {
        previous = stage;
        continue;
      }
      if (stage.state === StageState.Waiting) {
        stage.startedAt = this.now;
        this.setStageState(
          stage,
          StageState.Progressing,
          previous === undefined ? 'first stage' : `stage ${JSON.stringify(previous.name)} passed`,
        );
      }
      this.releaseWithin(stage);
      if (!this.gate(stage)) return;
      previous = stage;
    }
    const failed = this.record.failures;
    if (failed === 0) {
      const skipped = Object.values(this.record.clusters).filter(
        (c) => c.state === ClusterRolloutState.Skipped,
      ).length;
      this.setState(
        RolloutState.Succeeded,
        skipped === 0
          ? 'every stage passed and every cluster runs the new revision'
          : `every stage passed; ${skipped} cluster(s) matching no stage keep the old revision`,
      );
    } else {
      this.setState(
        RolloutState.Failed,
        `every stage passed, but ${failed} cluster(s) failed: ${Object.entries(this.record.clusters)
          .filter(([, c]) => failedClusterStates.includes(c.state))
          .map(([name]) => name)
          .sort(compareNames)
          .join(', ')}`,
      );
    }
  }

  /** Releases Waiting, online clusters of the stage, in name order, within its maxUnavailable. */
  private releaseWithin(stage: StageRecord): void {
    const limit = maxUnavailableOf(this.stagePlan(stage).maxUnavailable, stage.clusters.length);
    let unavailable = 0;
    for (const name of stage.clusters) {
      const cluster = this.cluster(name);
      const online = this.observed.get(name)?.online ?? false;
      if (cluster.state === ClusterRolloutState.Updating) unavailable++;
      else if (
        !online &&
        (cluster.state === ClusterRolloutState.Waiting ||
          cluster.state === ClusterRolloutState.Baking ||
          cluster.state === ClusterRolloutState.Succeeded)
      ) {
        unavailable++;
      }
    }
    for (const name of stage.clusters) {
      if (unavailable >= limit) return;
      const cluster = this.cluster(name);
      if (cluster.state !== ClusterRolloutState.Waiting) continue;
      if (!(this.observed.get(name)?.online ?? false)) continue;
      cluster.releasedAt = this.now;
      this.setClusterState(
        name,
        cluster,
        ClusterRolloutState.Updating,
        `released to ${toName(this.record)}`,
      );
      this.release.push(name);
      unavailable++;
    }
  }

  /**
   * Whether the stage passes now: every cluster done (Succeeded, or a failure that did not stop
   * the rollout), every Succeeded one online and Ready, all of them together for the stage's bake
   * time since the last became Ready, and promoted when it requires approval. Promote waives the
   * bake. Sets the stage's state to what it waits for.
   */
  private gate(stage: StageRecord): boolean {
    const plan = this.stagePlan(stage);
    const members = stage.clusters.map((name) => this.cluster(name));
    const updating = members.some(
      (c) => c.state === ClusterRolloutState.Waiting || c.state === ClusterRolloutState.Updating,
    );
    const baking = members.some((c) => c.state === ClusterRolloutState.Baking);
    const succeeded = members.filter((c) => c.state === ClusterRolloutState.Succeeded);
    const notReady = succeeded.some((c) => c.readySince === undefined);
    if (updating || baking || notReady) {
      delete stage.bakedSince;
      if (updating || notReady) {
        this.setStageState(
          stage,
          StageState.Progressing,
          updating ? 'clusters still updating' : 'a cluster stopped being Ready',
        );
      } else {
        this.setStageState(stage, StageState.Baking, 'all clusters Ready; clusters baking');
      }
      return false;
    }
    const lastReady = succeeded.reduce<number | undefined>(
      (max, c) => (max === undefined || (c.readySince ?? 0) > max ? c.readySince : max),
      undefined,
    );
    if (lastReady === undefined) delete stage.bakedSince;
    else stage.bakedSince = lastReady;
    if (!stage.approved && lastReady !== undefined && this.now - lastReady < plan.bakeTime) {
      this.setStageState(
        stage,
        StageState.Baking,
        `all clusters Ready; baking for ${formatMs(plan.bakeTime)}`,
      );
      return false;
    }
    if (plan.requireApproval && !stage.approved) {
      this.setStageState(stage, StageState.AwaitingApproval, 'waiting for promote');
      return false;
    }
    const reason =
      members.length === 0
        ? 'no clusters'
        : stage.approved
          ? 'all clusters done; promoted'
          : plan.bakeTime > 0
            ? `all clusters done and Ready for ${formatMs(plan.bakeTime)}`
            : 'all clusters done';
    this.setStageState(stage, StageState.Succeeded, reason);
    return true;
  }

  /** Once the rollout is over, moves every stage to its final state (see `finalStageState`). */
  endStages(): void {
    const state = this.record.state;
    for (const stage of this.record.stages) {
      this.setStageState(stage, finalStageState(state, stage), `the rollout is ${state}`);
    }
  }

  /** The next time a bake or a deadline elapses, for the controller's timer. */
  wakeAt(): number | null {
    if (isTerminal(this.record.state)) return null;
    let next: number | null = null;
    const consider = (at: number): void => {
      if (at > this.now && (next === null || at < next)) next = at;
    };
    for (const stage of this.record.stages) {
      if (stage.state === StageState.Succeeded) continue;
      const plan = this.stagePlan(stage);
      if (stage.state === StageState.Baking && stage.bakedSince !== undefined) {
        consider(stage.bakedSince + plan.bakeTime);
      }
      for (const name of stage.clusters) {
        const cluster = this.cluster(name);
        if (cluster.state === ClusterRolloutState.Updating) consider(cluster.since + this.deadline);
        if (cluster.state === ClusterRolloutState.Baking && cluster.readySince !== undefined) {
          consider(cluster.readySince + plan.bakeTime);
        }
      }
    }
    return next;
  }
}

/**
 * Plans one step of a rollout at `now`: applies the operator `actions` in order (rejecting those
 * `checkAction` refuses), follows every released cluster's observation, counts failures and
 * applies `onFailure`, then (unless paused or over) passes stage gates and releases the next
 * clusters. Returns a new record and the decisions; the input record is not modified. A record
 * in a terminal state comes back unchanged with no decisions. Idempotent: calling it again with
 * the returned record, the same observations and the same `now` changes nothing.
 */
export function planRollout(
  strategy: RolloutStrategy,
  record: RolloutRecord,
  observations: readonly ClusterObservation[],
  now: number,
  actions: readonly OperatorAction[] = [],
): RolloutPlan {
  const planning = new Planning(strategy, structuredClone(record), observations, now);
  if (!isTerminal(record.state)) {
    for (const action of actions) planning.apply(action);
    if (!isTerminal(planning.record.state)) {
      if (planning.record.state === RolloutState.Pending) planning.start();
      planning.observe();
      planning.checkFailures();
      if (planning.record.state === RolloutState.Progressing) planning.advance();
    }
    if (isTerminal(planning.record.state)) planning.endStages();
  } else {
    for (const action of actions) {
      planning.rejected.push({
        action,
        reason: checkAction(record, action) ?? `the rollout is ${record.state}`,
      });
    }
  }
  const next = planning.record;
  if (!sameContent(record, next)) next.updatedAt = now;
  return {
    record: next,
    release: planning.release,
    rollback: planning.rollback,
    rollbackTo: next.fromRevision,
    events: planning.events,
    rejected: planning.rejected,
    untracked: planning.untracked(),
    wakeAt: planning.wakeAt(),
  };
}

function sameContent(a: RolloutRecord, b: RolloutRecord): boolean {
  return JSON.stringify({ ...a, updatedAt: 0 }) === JSON.stringify({ ...b, updatedAt: 0 });
}

/**
 * Ends a live rollout because a newer revision starts its own (or the bundle lost its strategy):
 * a new record in state Superseded with `reason`; nothing is released or rolled back, every
 * cluster keeps what it was told. A rollout already over comes back unchanged (same object).
 */
export function supersedeRollout(
  record: RolloutRecord,
  now: number,
  reason = 'superseded by a newer revision',
): RolloutRecord {
  if (isTerminal(record.state)) return record;
  const next = structuredClone(record);
  for (const stage of next.stages) stage.state = finalStageState(RolloutState.Superseded, stage);
  return { ...next, state: RolloutState.Superseded, reason, updatedAt: now };
}

/**
 * The revision each cluster of the rollout should run now, as a level the controller can
 * re-apply at any time (after a crash, on an agent's resync): `toRevision` for clusters released
 * (or already up to date), `fromRevision` for the others, and `fromRevision` for all once the
 * rollout is RolledBack. Null means the bundle should not be on that cluster (first deployment).
 */
export function desiredRevisions(record: RolloutRecord): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const rolledBack = record.state === RolloutState.RolledBack;
  for (const name of Object.keys(record.clusters).sort(compareNames)) {
    const cluster = record.clusters[name];
    if (cluster === undefined) continue;
    out[name] =
      !rolledBack && releasedClusterStates.includes(cluster.state)
        ? record.toRevision
        : record.fromRevision;
  }
  return out;
}
