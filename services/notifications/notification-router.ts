import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  BundleEventSchema,
  ClusterEventSchema,
  GitRepoEventSchema,
  type DeploymentChange,
  RolloutChangeEventSchema,
  deploymentChangesOf,
} from '../../libs/contracts/events.js';
import type { Subjects } from '../../libs/contracts/subjects.js';
import {
  BundleRepository,
  ClusterRepository,
  DeploymentRepository,
  NotFoundError,
  NotificationRepository,
} from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import {
  BundleProgress,
  type NotificationEvent,
  type NotificationRuleSpec,
  bundleProgress,
  commitStateOf,
  driftEvent,
  fromBundleProgress,
  fromClusterEvent,
  fromGitRepoEvent,
  fromRolloutChange,
  isForge,
  targetsFor,
} from '../../libs/notifications/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { DeliveryWorker } from './delivery-worker.js';

/** One replica of the queue group receives each hub event. */
const QUEUE = 'flotilla-notifications';
const DEPLOYMENT = 'deployment';

/** A hub event received, waiting for a routing pass. */
interface Pending {
  kind: string;
  /** The event's JSON. */
  payload: Uint8Array;
  /** The notification events it makes. */
  handle: (data: unknown) => Promise<NotificationEvent[]>;
}

/**
 * Turns hub events (rollouts, clusters, GitRepos, deployments) into notification events, matches
 * them against the rules and writes the outbox: what is written is delivered even when the hub
 * restarts. Forge targets get only events that set a commit status.
 */
@Injectable()
export class NotificationRouter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Notifications');
  private readonly subs: Subscription[] = [];
  /** Events received and not routed yet, oldest first. */
  private pending: Pending[] = [];
  /** Routing passes, one after another: the outbox sees events as they came. */
  private chain: Promise<void> = Promise.resolve();
  /** A pass is queued on `chain` that has not started yet (it takes what `pending` holds then). */
  private passQueued = false;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly store: NotificationRepository,
    private readonly bundles: BundleRepository,
    private readonly deployments: DeploymentRepository,
    private readonly clusters: ClusterRepository,
    private readonly worker: DeliveryWorker,
  ) {}

  onApplicationBootstrap(): void {
    const on = (kind: string, handle: (data: unknown) => Promise<NotificationEvent[]>) =>
      this.nc.subscribe(this.subjects.allEvents(kind), {
        queue: QUEUE,
        // Parsed only when routed: without rules, events are dropped unread.
        callback: (_e, msg) => this.receive({ kind, payload: msg.data, handle }),
      });
    this.subs.push(
      on('rollout', async (data) => {
        const e = RolloutChangeEventSchema.safeParse(data);
        return e.success ? fromRolloutChange(e.data, await this.gitrepoOf(e.data.bundle)) : [];
      }),
      on('cluster', (data) => {
        const e = ClusterEventSchema.safeParse(data);
        return Promise.resolve(e.success ? fromClusterEvent(e.data) : []);
      }),
      on('gitrepo', (data) => {
        const e = GitRepoEventSchema.safeParse(data);
        return Promise.resolve(e.success ? fromGitRepoEvent(e.data, new Date().toISOString()) : []);
      }),
      // Handed a run of adjacent deployment events together (see `pass`): each bundle's
      // progress is read once for the run.
      on(DEPLOYMENT, (run) =>
        this.bundleEvents((run as unknown[]).flatMap((e) => deploymentChangesOf(e))),
      ),
      on('bundle', (data) => {
        const e = BundleEventSchema.safeParse(data);
        return e.success ? this.targetsWritten(e.data.bundle) : Promise.resolve([]);
      }),
    );
  }

  onApplicationShutdown(): Promise<void> {
    for (const sub of this.subs) sub.unsubscribe();
    return this.chain;
  }

  /**
   * Queues an event for the next routing pass. Events come in bursts (a status write announces
   * every cluster it changed, one event each): a pass takes every event waiting, so the rules
   * are read once per pass rather than once per event.
   */
  private receive(event: Pending): void {
    this.pending.push(event);
    if (this.passQueued) return;
    this.passQueued = true;
    this.chain = this.chain.then(() => this.pass());
  }

  /**
   * Routes the events waiting, in the order they came. Without rules nothing is sent: the events
   * need not even be looked at. Deployment events next to each other are looked at together:
   * their bundles' progress is read once (it is read from PostgreSQL as it is now, so once
   * answers for each of them), and each Modified deployment still tells of its drift.
   */
  private async pass(): Promise<void> {
    this.passQueued = false;
    const events = this.pending.splice(0);
    let rules: NotificationRuleSpec[];
    try {
      rules = await this.store.allRules();
    } catch (err) {
      this.logger.error(`routing ${events.length} events: reading the rules: ${String(err)}`);
      return;
    }
    if (rules.length === 0) return;
    for (let i = 0; i < events.length;) {
      const { kind, payload, handle } = events[i]!;
      let n = 1;
      let notifications: () => Promise<NotificationEvent[]> = () => handle(parseJson(payload));
      if (kind === DEPLOYMENT) {
        while (events[i + n]?.kind === DEPLOYMENT) n++;
        const run = events.slice(i, i + n);
        notifications = () => handle(run.map((e) => parseJson(e.payload)));
      }
      i += n;
      try {
        await this.route(await notifications(), rules);
      } catch (err) {
        this.logger.error(
          `routing ${n === 1 ? `a ${kind} event` : `${n} ${kind} events`}: ${String(err)}`,
        );
      }
    }
  }

  /** Writes an outbox row for each target a rule sends the event to. */
  async route(
    events: readonly NotificationEvent[],
    rules: readonly NotificationRuleSpec[],
  ): Promise<void> {
    if (events.length === 0) return;
    let added = 0;
    for (const event of events) {
      const names = targetsFor(rules, event);
      if (names.length === 0) continue;
      const targets = await this.applicableTargets(names, event);
      added += await this.store.enqueue(event, targets);
    }
    if (added > 0) this.worker.poke();
  }

  /** The targets among `names` that take `event`: forges only what sets a commit status. */
  private async applicableTargets(names: string[], event: NotificationEvent): Promise<string[]> {
    if (commitStateOf(event) !== null && event.commit !== undefined) return names;
    const out: string[] = [];
    for (const name of names) {
      const type = await this.worker.targetType(name);
      if (type !== null && !isForge(type)) out.push(name);
    }
    return out;
  }

  /**
   * Bundle progress events for the bundles whose deployments deployment events changed, and a
   * drift event for each deployment that turned Modified.
   */
  private async bundleEvents(changes: DeploymentChange[]): Promise<NotificationEvent[]> {
    const bundles = [...new Set(changes.map((c) => c.bundle))];
    const drifted = changes.filter((c) => c.state === 'Modified');
    const labels =
      drifted.length === 0
        ? new Map<string, Record<string, string>>()
        : await this.clusters.labelsOf([...new Set(drifted.map((c) => c.cluster))]);
    const out: NotificationEvent[] = [];
    for (const name of bundles) {
      let bundle;
      try {
        bundle = await this.bundles.get(name);
      } catch (err) {
        if (err instanceof NotFoundError) continue;
        throw err;
      }
      for (const c of drifted.filter((d) => d.bundle === name)) {
        out.push(
          driftEvent({
            bundle: name,
            gitrepo: bundle.gitrepo,
            cluster: c.cluster,
            clusterLabels: labels.get(c.cluster) ?? {},
            at: c.at,
          }),
        );
      }
      if (bundle.commit === null) continue;
      const progress = bundleProgress(
        await this.deployments.list({ bundles: [name] }),
        bundle.commit,
      );
      if (progress === null) continue;
      out.push(
        fromBundleProgress({
          bundle: name,
          gitrepo: bundle.gitrepo,
          commit: bundle.commit,
          progress,
          at: new Date().toISOString(),
        }),
      );
    }
    return out;
  }

  /**
   * A sync wrote a bundle's targets: its commit is rolling out (`pending`), told before whatever
   * the clusters report of it. Clusters may have reported all Ready already (a ConfigMap applies
   * at once), so the outcome follows the pending at once then; both are sent once per commit
   * (the events' ids), so a later report's Progressing cannot override a success or failure.
   */
  private async targetsWritten(name: string): Promise<NotificationEvent[]> {
    let bundle;
    try {
      bundle = await this.bundles.get(name);
    } catch (err) {
      if (err instanceof NotFoundError) return [];
      throw err;
    }
    if (bundle.commit === null) return [];
    const progress = bundleProgress(
      await this.deployments.list({ bundles: [name] }),
      bundle.commit,
    );
    if (progress === null) return [];
    const event = (p: BundleProgress) =>
      fromBundleProgress({
        bundle: name,
        gitrepo: bundle.gitrepo,
        commit: bundle.commit!,
        progress: p,
        at: new Date().toISOString(),
      });
    const out = [event(BundleProgress.Progressing)];
    if (progress !== BundleProgress.Progressing) out.push(event(progress));
    return out;
  }

  private async gitrepoOf(bundle: string): Promise<string | undefined> {
    try {
      return (await this.bundles.get(bundle)).gitrepo;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}
