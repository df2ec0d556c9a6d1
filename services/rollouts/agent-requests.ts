import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  CONTENT_CHUNK_BYTES,
  ContentRequestSchema,
  DeploymentEventType,
  type DeploymentsChangedEvent,
  type Subjects,
  SyncRequestSchema,
} from '../../libs/contracts/index.js';
import { AgentSequenceRepository, DeploymentRepository } from '../../libs/db/index.js';
import { syncDiff } from '../../libs/delivery/index.js';
import { AgentRequestKind, syncRequestProblem } from '../../libs/gateway/index.js';
import { parseJson, publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { AgentGateway, type AgentAnswer, type AgentRequest, agentError } from './agent-gateway.js';
import { DesiredStatePublisher } from './desired-state-publisher.js';

/** Inline content a sync reply may carry in all; what does not fit is fetched. */
const SYNC_INLINE_BUDGET = 256 * 1024;

/**
 * What the hub answers agents, served through {@link AgentGateway}: a sync request (after an
 * agent (re)connects: everything that differs from what it holds, signed and numbered) and a
 * content request (one chunk of a revision desired on the requesting cluster).
 */
@Injectable()
export class AgentRequests implements OnApplicationBootstrap {
  private readonly logger = new Logger('AgentRequests');

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly gateway: AgentGateway,
    private readonly publisher: DesiredStatePublisher,
    private readonly deployments: DeploymentRepository,
    private readonly sequences: AgentSequenceRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.gateway.serve(AgentRequestKind.Sync, (req) => this.answerSync(req));
    this.gateway.serve(AgentRequestKind.Content, (req) => this.answerContent(req));
  }

  /** Agent after (re)connect: "I hold these"; answer with everything that differs. */
  private async answerSync({ cluster, data }: AgentRequest): Promise<AgentAnswer> {
    const parsed = SyncRequestSchema.safeParse(parseJson(data));
    if (!parsed.success) return agentError('malformed sync request');
    const tooMany = syncRequestProblem(parsed.data.held);
    if (tooMany !== undefined) return agentError(tooMany);
    try {
      // Numbered before the desired state is read: the reply holds every change sent with a
      // lower number (those were committed before), so the agent may refuse them from now on.
      const seq = (await this.sequences.take(new Map([[cluster, 1]]))).get(cluster)!;
      const desired = await this.deployments.desiredForCluster(cluster);
      const { changes, notHeld } = syncDiff(cluster, parsed.data.held, desired);
      // What the hub saw applied but the cluster does not hold is not Ready any more.
      const pending = await this.deployments.markNotHeld(cluster, notHeld);
      if (pending.length > 0) {
        const event: DeploymentsChangedEvent = {
          type: DeploymentEventType.DeploymentsChanged,
          cluster,
          deployments: pending.map((bundle) => ({ bundle, state: 'Pending' })),
          at: new Date().toISOString(),
        };
        publishJson(this.nc, this.subjects.event('deployment', cluster), event);
      }
      const messages = await this.publisher.toMessages(changes, SYNC_INLINE_BUDGET);
      const [reply, { headers }] = this.publisher.signedText(
        JSON.stringify({
          cluster,
          seq,
          issuedAt: new Date().toISOString(),
          changes: messages.map(([, m]) => m),
        }),
      );
      return { data: reply, headers };
    } catch (err) {
      this.logger.error(`sync for ${cluster}: ${String(err)}`);
      return agentError('sync failed; retry');
    }
  }

  /** One chunk of a revision's content, for a cluster that is meant to run it. */
  private async answerContent({ cluster, data }: AgentRequest): Promise<AgentAnswer> {
    const parsed = ContentRequestSchema.safeParse(parseJson(data));
    if (!parsed.success) return agentError('malformed content request');
    const { revision, chunk } = parsed.data;
    try {
      if (!(await this.publisher.isEntitled(cluster, revision))) {
        return agentError(`revision ${revision} is not desired on cluster ${cluster}`);
      }
      const content = await this.publisher.contentOf(revision);
      if (!content) return agentError(`revision ${revision} not found`);
      const start = chunk * CONTENT_CHUNK_BYTES;
      if (chunk > 0 && start >= content.length) return agentError(`chunk ${chunk} is out of range`);
      return { data: content.subarray(start, start + CONTENT_CHUNK_BYTES) };
    } catch (err) {
      this.logger.error(`content for ${cluster}: ${String(err)}`);
      return agentError('content lookup failed; retry');
    }
  }
}
