import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
  headers,
} from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import type { Subjects } from '../../libs/contracts/index.js';
import {
  AGENT_REQUEST_LIMITS,
  type AgentRequestKind,
  type AgentRequestLimits,
  KeyedLimiter,
  LimiterFullError,
  OncePer,
  TokenBuckets,
  replySubjectRefusal,
} from '../../libs/gateway/index.js';
import { METRICS_REGISTRY, NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { ROLLOUTS_QUEUE } from './queue.js';

/** Header of an error reply to an agent's request (the agent reads it as the reason). */
export const AGENT_ERROR_HEADER = 'Flotilla-Error';

/** A refused reply subject is logged at most once per cluster in this long. */
const REFUSAL_LOG_MS = 60_000;

/** An agent's request, from the cluster its subject names (its NATS user may publish no other). */
export interface AgentRequest {
  cluster: string;
  data: Uint8Array;
}

/** What a handler answers: a payload (with headers, e.g. a signature) or an error for the agent. */
export type AgentAnswer = { data: Uint8Array; headers?: MsgHdrs } | { error: string };

/** Answers one kind of agent request. */
export type AgentRequestHandler = (request: AgentRequest) => Promise<AgentAnswer>;

/** An error answer. */
export function agentError(error: string): AgentAnswer {
  return { error };
}

/**
 * The one place through which the hub answers agents' requests. It answers only on the
 * requesting cluster's own inbox (a request naming any other reply subject is dropped, counted
 * and logged once per cluster and minute), bounds each cluster's requests (payload size, rate,
 * work at once) with a clear error reply, and sends what the handler returns or an error when
 * the handler fails. Handlers never see the NATS message, so none can answer elsewhere.
 */
@Injectable()
export class AgentGateway implements OnModuleDestroy {
  private readonly logger = new Logger('AgentGateway');
  private readonly subs: Subscription[] = [];
  private readonly refused: Counter;
  private readonly refusalLog = new OncePer(REFUSAL_LOG_MS);

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.refused = new Counter({
      name: 'flotilla_agent_requests_refused_total',
      help: 'Agent requests the hub refused: reply-subject (not the cluster own inbox; dropped), too-large, rate, busy, subject',
      labelNames: ['request', 'reason'],
      registers: [registry],
    });
  }

  /** Serves `kind` requests of every cluster with `handler`, within `limits`. */
  serve(
    kind: AgentRequestKind,
    handler: AgentRequestHandler,
    limits: AgentRequestLimits = AGENT_REQUEST_LIMITS[kind],
  ): void {
    const rate = new TokenBuckets(limits.rate);
    const work = new KeyedLimiter(limits.concurrency, limits.queue);
    const subject = kind === 'sync' ? this.subjects.allSync() : this.subjects.allContent();
    this.subs.push(
      this.nc.subscribe(subject, {
        queue: ROLLOUTS_QUEUE,
        callback: (_err, msg) => this.receive(kind, msg, limits, rate, work, handler),
      }),
    );
  }

  private receive(
    kind: AgentRequestKind,
    msg: Msg,
    limits: AgentRequestLimits,
    rate: TokenBuckets,
    work: KeyedLimiter,
    handler: AgentRequestHandler,
  ): void {
    const cluster = this.subjects.clusterOf(msg.subject);
    if (cluster === undefined) {
      this.refused.inc({ request: kind, reason: 'subject' });
      return;
    }
    const refusal = replySubjectRefusal(this.subjects, cluster, msg.reply);
    if (refusal !== undefined) {
      this.refused.inc({ request: kind, reason: 'reply-subject' });
      const { allowed, suppressed } = this.refusalLog.allow(cluster, Date.now());
      if (allowed) {
        this.logger.warn(
          `refused a ${kind} request from cluster ${cluster}: reply subject ${JSON.stringify(
            (msg.reply ?? '').slice(0, 200),
          )} is ${refusal === 'missing' ? 'missing' : "not under the cluster's own inbox"} (${this.subjects.agentInboxPrefix(cluster)}.>); not answered` +
            (suppressed > 0 ? ` (${suppressed} more refused since the last such message)` : ''),
        );
      }
      return;
    }
    const reply = msg.reply!;
    const fail = (reason: string, error: string): void => {
      this.refused.inc({ request: kind, reason });
      this.answer(reply, { error });
    };
    if (!rate.take(cluster, Date.now())) {
      return fail(
        'rate',
        `too many ${kind} requests from cluster ${cluster} (at most ${limits.rate.burst} at once, then ${limits.rate.perSecond} per second); retry later`,
      );
    }
    if (work.full(cluster)) {
      return fail(
        'busy',
        `too many ${kind} requests from cluster ${cluster} in progress (at most ${limits.concurrency + limits.queue}); retry later`,
      );
    }
    if (msg.data.length > limits.maxBytes) {
      return fail(
        'too-large',
        `the ${kind} request has ${msg.data.length} bytes; at most ${limits.maxBytes} are accepted`,
      );
    }
    const data = msg.data;
    work
      .run(cluster, () => handler({ cluster, data }))
      .then(
        (answer) => this.answer(reply, answer),
        (err: unknown) => {
          if (err instanceof LimiterFullError)
            return fail(
              'busy',
              `too many ${kind} requests from cluster ${cluster} in progress; retry later`,
            );
          this.logger.error(`${kind} request of cluster ${cluster}: ${String(err)}`);
          this.answer(reply, { error: `${kind} failed; retry` });
        },
      );
  }

  /** Publishes on a reply subject the gateway checked; never called with any other. */
  private answer(reply: string, answer: AgentAnswer): void {
    if ('error' in answer) {
      const h = headers();
      h.set(AGENT_ERROR_HEADER, answer.error);
      this.nc.publish(reply, new Uint8Array(), { headers: h });
      return;
    }
    this.nc.publish(reply, answer.data, answer.headers ? { headers: answer.headers } : undefined);
  }

  onModuleDestroy(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }
}
