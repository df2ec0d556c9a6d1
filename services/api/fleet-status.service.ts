import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Observable, Subject, bufferTime, concatMap, filter, from, share } from 'rxjs';
import {
  type ClusterEvent,
  ClusterEventSchema,
  type Subjects,
} from '../../libs/contracts/index.js';
import { ClusterRepository } from '../../libs/db/index.js';
import { parseJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { type ClusterCounts, countsView } from './views.js';

/** Fleet-wide status. Deployment counts join these once bundles are delivered. */
export interface FleetStatus {
  clusters: ClusterCounts;
}

/** One change of the fleet, with the fleet status after it. */
export interface FleetStatusChange {
  type: 'Snapshot' | ClusterEvent['type'];
  cluster: ClusterEvent['cluster'] | null;
  previousState: string | null;
  status: FleetStatus;
  at: string;
}

/**
 * Fleet status and a live stream of its changes. One NATS subscription per process feeds every
 * watcher; events are batched (100 ms) so a burst costs one count query, not one per event.
 */
@Injectable()
export class FleetStatusService implements OnModuleDestroy {
  private readonly logger = new Logger('FleetStatus');
  private subscription: Subscription | undefined;
  private readonly events = new Subject<ClusterEvent>();
  private readonly changes: Observable<FleetStatusChange>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly clusters: ClusterRepository,
  ) {
    this.changes = this.events.pipe(
      bufferTime(100),
      filter((batch) => batch.length > 0),
      concatMap((batch) =>
        from(
          this.status().then((status) =>
            batch.map((e): FleetStatusChange => ({
              type: e.type,
              cluster: e.cluster,
              previousState: e.previousState,
              status,
              at: e.at,
            })),
          ),
        ),
      ),
      concatMap((changes) => from(changes)),
      share(),
    );
  }

  async status(): Promise<FleetStatus> {
    return { clusters: countsView(await this.clusters.countByState()) };
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
            status,
            at: new Date().toISOString(),
          }),
        (err: unknown) => subscriber.error(err),
      );
      return () => live.unsubscribe();
    });
  }

  private ensureSubscribed(): void {
    if (this.subscription) return;
    this.subscription = this.nc.subscribe(this.subjects.allEvents('cluster'), {
      callback: (err, msg) => {
        if (err) {
          this.logger.warn(`cluster events subscription: ${err.message}`);
          return;
        }
        const parsed = ClusterEventSchema.safeParse(parseJson(msg.data));
        if (parsed.success) this.events.next(parsed.data);
      },
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    this.events.complete();
  }
}
