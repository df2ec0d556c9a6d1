import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Observable, Subject } from 'rxjs';
import type { LiveEventView } from '../../libs/contracts/api-views.js';
import type { Subjects } from '../../libs/contracts/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

const KINDS: readonly LiveEventView['kind'][] = [
  'cluster',
  'deployment',
  'gitrepo',
  'bundle',
  'rollout',
  'group',
];

/**
 * The hub's change events (`flotilla.events.>`, the ones the gRPC watches follow) as a stream
 * of what changed, for the dashboard's live updates. One NATS subscription per process, opened
 * with the first listener.
 */
@Injectable()
export class LiveEventsService implements OnModuleDestroy {
  private readonly logger = new Logger('LiveEvents');
  private readonly subject = new Subject<LiveEventView>();
  private readonly closing = new Subject<void>();
  private subscription: Subscription | undefined;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
  ) {}

  changes(): Observable<LiveEventView> {
    if (this.subscription === undefined) {
      const all = this.subjects.allEvents();
      const prefix = all.slice(0, -1); // `<root>.events.`
      this.subscription = this.nc.subscribe(all, {
        callback: (err, msg) => {
          if (err) {
            this.logger.warn(`event subscription failed: ${err.message}`);
            return;
          }
          const rest = msg.subject.slice(prefix.length);
          const dot = rest.indexOf('.');
          const kind = rest.slice(0, dot) as LiveEventView['kind'];
          if (dot < 0 || !KINDS.includes(kind)) return;
          this.subject.next({ kind, name: rest.slice(dot + 1), at: new Date().toISOString() });
        },
      });
    }
    return this.subject.asObservable();
  }

  /** Emits once when the hub shuts down, so open streams end and the server can close. */
  closed(): Observable<void> {
    return this.closing.asObservable();
  }

  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
    this.subscription?.unsubscribe();
    this.subject.complete();
  }
}
