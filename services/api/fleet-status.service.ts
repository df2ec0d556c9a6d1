import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Observable, Subject, bufferTime, concatMap, filter, from, map, share } from 'rxjs';
import {
  type ClusterEvent,
  ClusterEventSchema,
  deploymentChangesOf,
  type Subjects,
} from '../../libs/contracts/index.js';
import { InvalidInputError, type PageRequest, encodeContinue } from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { FleetSummaryCache, fleetStatusFrom } from './fleet-summary-cache.js';
import type { FleetStatusView } from '../../libs/contracts/api-views.js';

/** Fleet-wide status: clusters by connection state, deployments by state. */
export type FleetStatus = FleetStatusView;

/** A deployment whose reported state changed (from `flotilla.events.deployment.<cluster>`). */
interface DeploymentEvent {
  type: 'DeploymentChanged';
  bundle: string;
  cluster: string;
  state: string;
  at: string;
}

/** One change of the fleet, with the fleet status after it. */
export interface FleetStatusChange {
  type: 'Snapshot' | ClusterEvent['type'] | 'DeploymentChanged';
  cluster: ClusterEvent['cluster'] | null;
  previousState: string | null;
  deployment: { bundle: string; cluster: string; state: string } | null;
  status: FleetStatus;
  at: string;
}

/**
 * Fleet status and a live stream of its changes. One NATS subscription per process feeds every
 * watcher; events are batched (100 ms), and each batch carries the fleet's counts from the
 * summary cache (`FleetSummaryCache`: one GROUP BY a second at most, shared with the REST
 * summaries), not a count query of its own.
 */
@Injectable()
export class FleetStatusService implements OnModuleDestroy {
  private readonly logger = new Logger('FleetStatus');
  private subscriptions: Subscription[] = [];
  private readonly events = new Subject<ClusterEvent | DeploymentEvent>();
  private readonly changes: Observable<FleetStatusChange>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly summaries: FleetSummaryCache,
  ) {
    this.changes = this.events.pipe(
      bufferTime(100),
      filter((batch) => batch.length > 0),
      // When the batch was collected, not when its turn comes: batches that queued behind one
      // count are all served by the next, so the stream never falls further behind.
      map((batch) => ({ batch, seen: Date.now() })),
      concatMap(({ batch, seen }) =>
        from(
          // Counts computed after the batch's changes were seen, so each event shows the fleet
          // after it; shared with the REST summaries (one count query a second at most).
          this.summaries.fleetCountsSince(seen).then((counts) => {
            const status = fleetStatusFrom(counts);
            return batch.map((e): FleetStatusChange =>
              e.type === 'DeploymentChanged'
                ? {
                    type: e.type,
                    cluster: null,
                    previousState: null,
                    deployment: { bundle: e.bundle, cluster: e.cluster, state: e.state },
                    status,
                    at: e.at,
                  }
                : {
                    type: e.type,
                    cluster: e.cluster,
                    previousState: e.previousState,
                    deployment: null,
                    status,
                    at: e.at,
                  },
            );
          }),
        ),
      ),
      concatMap((changes) => from(changes)),
      share(),
    );
  }

  /**
   * Cluster and deployment counts (SQL aggregates from the summary cache: no deployment row is
   * read into the hub, and at most one count query a second), and the non-ready deployments
   * worst first: every one, the page `offset`/`limit`, or none (`withNonReady: false`). A
   * Modified one carries its drift in one line (`driftSummary`). `computedAt` is when the counts
   * were computed; a page within the cached first page was read with them.
   */
  async status({
    withNonReady = true,
    offset = 0,
    limit,
  }: { withNonReady?: boolean; offset?: number; limit?: number } = {}): Promise<FleetStatus> {
    // A page within the cached first one comes with the counts read at the same moment.
    const head =
      withNonReady && limit !== undefined
        ? await this.summaries.statusHead(offset, limit)
        : undefined;
    if (head !== undefined) {
      const status = fleetStatusFrom({ value: head.value.counts, computedAt: head.computedAt });
      return { ...status, nonReady: head.value.nonReady };
    }
    const [counts, nonReady] = await Promise.all([
      this.summaries.fleetCounts(),
      !withNonReady
        ? []
        : limit === undefined
          ? this.summaries.allNonReady()
          : this.summaries.nonReady(offset, limit),
    ]);
    return { ...fleetStatusFrom(counts), nonReady };
  }

  /**
   * The fleet status with one page of its non-ready deployments (`GET /api/v1/status`); the
   * continue token is the offset into them.
   */
  async statusPage(page: PageRequest) {
    const offset = page.after === undefined ? 0 : Number(page.after);
    if (!Number.isInteger(offset) || offset < 0)
      throw new InvalidInputError('continue token is malformed');
    const fleet = await this.status({ offset, limit: page.limit });
    const nonReadyTotal = fleet.deployments.total - (fleet.deployments.byState.Ready ?? 0);
    const next =
      offset + page.limit < nonReadyTotal ? encodeContinue(String(offset + page.limit)) : undefined;
    return {
      clusters: fleet.clusters,
      deployments: fleet.deployments,
      nonReady: fleet.nonReady,
      nonReadyTotal,
      computedAt: fleet.computedAt,
      ...(next ? { continue: next } : {}),
    };
  }

  /** A snapshot first, then every change, until the subscriber unsubscribes. */
  watch(): Observable<FleetStatusChange> {
    this.ensureSubscribed();
    return new Observable<FleetStatusChange>((subscriber) => {
      const live = this.changes.subscribe(subscriber);
      this.status().then(
        (status) =>
          subscriber.next({
            type: 'Snapshot',
            cluster: null,
            previousState: null,
            deployment: null,
            status,
            at: new Date().toISOString(),
          }),
        (err: unknown) => subscriber.error(err),
      );
      return () => live.unsubscribe();
    });
  }

  private ensureSubscribed(): void {
    if (this.subscriptions.length > 0) return;
    this.subscriptions = [
      this.nc.subscribe(this.subjects.allEvents('cluster'), {
        callback: (err, msg) => {
          if (err) return this.logger.warn(`cluster events subscription: ${err.message}`);
          const parsed = ClusterEventSchema.safeParse(parseJson(msg.data));
          if (parsed.success) this.events.next(parsed.data);
        },
      }),
      this.nc.subscribe(this.subjects.allEvents('deployment'), {
        callback: (err, msg) => {
          if (err) return this.logger.warn(`deployment events subscription: ${err.message}`);
          for (const c of deploymentChangesOf(parseJson(msg.data))) {
            this.events.next({ type: 'DeploymentChanged', ...c });
          }
        },
      }),
    ];
  }

  onModuleDestroy(): void {
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.events.complete();
  }
}
