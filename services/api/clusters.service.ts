import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type BootstrapResponse, ClusterEventType } from '../../libs/contracts/index.js';
import {
  ClusterRepository,
  DeploymentRepository,
  ForbiddenError,
  InvalidInputError,
  type Page,
  type PageRequest,
  TokenRepository,
  UnauthorizedError,
} from '../../libs/db/index.js';
import {
  mergeRegistrationLabels,
  parseSelector,
  validateClusterName,
  validateLabels,
} from '../../libs/selectors/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { DATA_SOURCE, HUB_CONFIG, SIGNER } from '../shared/tokens.js';
import type { PayloadSigner } from '../../libs/contracts/signing.js';
import { AgentCredentialsService } from './agent-credentials.service.js';
import { ClusterEventsPublisher } from './cluster-events.publisher.js';
import { type DeploymentView, deploymentView } from './fleet-summary.js';
import { type ClusterView, clusterView } from './views.js';

/** Throws a 400 unless the name is a DNS-1123 label and the labels follow Kubernetes rules. */
export function assertValidCluster(name: unknown, labels: unknown): void {
  if (typeof name !== 'string') throw new InvalidInputError('name: must be a string');
  const nameError = validateClusterName(name);
  if (nameError) throw new InvalidInputError(`name "${name}": ${nameError}`);
  const labelErrors = validateLabels(labels);
  if (labelErrors.length > 0) throw new InvalidInputError(labelErrors.join('; '));
}

/** Cluster registration, listing, labels, deletion and agent bootstrap. */
@Injectable()
export class ClustersService {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
    private readonly clusters: ClusterRepository,
    private readonly tokens: TokenRepository,
    private readonly events: ClusterEventsPublisher,
    private readonly deployments: DeploymentRepository,
    @Inject(SIGNER) private readonly signer: PayloadSigner,
    private readonly natsCredentials: AgentCredentialsService,
  ) {}

  /** Manager-initiated registration: the cluster and the token its agent runs with. */
  async register(
    name: string,
    labels: Record<string, string> = {},
  ): Promise<{ cluster: ClusterView; token: string }> {
    assertValidCluster(name, labels);
    const { cluster, token } = await this.ds.transaction(async (m) => {
      const cluster = await this.clusters.create(name, labels, m);
      return { cluster, token: await this.tokens.createAgentToken(name, m) };
    });
    this.events.publish(ClusterEventType.Registered, cluster);
    return { cluster: clusterView(cluster), token };
  }

  /**
   * Agent-initiated registration with a registration token. The token's labels are a ceiling:
   * the agent may add labels of other keys, but giving one of the token's keys another value is
   * refused (403), and the token is not used up by the refusal.
   */
  async registerWithToken(
    registrationToken: string,
    name: string,
    labels: Record<string, string> = {},
  ): Promise<{ cluster: { name: string; labels: Record<string, string> }; token: string }> {
    assertValidCluster(name, labels);
    const { cluster, token } = await this.ds.transaction(async (m) => {
      const grant = await this.tokens.consumeRegistrationToken(registrationToken, m);
      if (!grant) throw new UnauthorizedError('registration token is unknown, expired or used up');
      const merged = mergeRegistrationLabels(grant.labels, labels);
      if (merged.overridden.length > 0) {
        throw new ForbiddenError(
          `the registration token sets ${merged.overridden
            .map((key) => `${key}=${grant.labels[key]}`)
            .join(', ')}; an agent registering with it may add labels but not change these`,
        );
      }
      const cluster = await this.clusters.create(name, merged.labels, m);
      return { cluster, token: await this.tokens.createAgentToken(name, m) };
    });
    this.events.publish(ClusterEventType.Registered, cluster);
    return { cluster: { name: cluster.name, labels: cluster.labels }, token };
  }

  async list(labelSelector: string | undefined, page: PageRequest): Promise<Page<ClusterView>> {
    const result = await this.clusters.list(parseSelector(labelSelector ?? ''), page);
    return { ...result, items: result.items.map(clusterView) };
  }

  async get(name: string): Promise<ClusterView & { deployments: DeploymentView[] }> {
    const cluster = await this.clusters.get(name);
    const rows = await this.deployments.list({ cluster: name });
    return { ...clusterView(cluster), deployments: rows.map(deploymentView) };
  }

  async replaceLabels(name: string, labels: Record<string, string>): Promise<ClusterView> {
    assertValidCluster(name, labels);
    const cluster = await this.clusters.replaceLabels(name, labels);
    this.events.publish(ClusterEventType.Updated, cluster);
    return clusterView(cluster);
  }

  /** Deletes a cluster, revoking its agent token and its agent's NATS user. */
  async delete(name: string): Promise<void> {
    const cluster = await this.ds.transaction(async (m) => {
      await this.clusters.lock(name, m);
      const live = await this.tokens.liveAgentTokenHashes(name, m);
      await this.natsCredentials.recordRevocations(name, live, 'cluster-deleted', m);
      return this.clusters.delete(name, m);
    });
    await this.natsCredentials.publishRevocations();
    this.events.publish(ClusterEventType.Deleted, cluster);
  }

  /**
   * Issues a new agent token for a cluster; the old one stops working, and its agent's NATS user
   * is revoked (the agent is disconnected, and needs the new token to bootstrap again).
   */
  async rotateAgentToken(name: string): Promise<{ token: string }> {
    const token = await this.ds.transaction(async (m) => {
      await this.clusters.lock(name, m);
      const { token, revokedHashes } = await this.tokens.rotateAgentToken(name, m);
      await this.natsCredentials.recordRevocations(name, revokedHashes, 'token-rotated', m);
      return token;
    });
    await this.natsCredentials.publishRevocations();
    return { token };
  }

  /** Exchanges an agent token for the agent's cluster name and NATS connection details. */
  async bootstrap(agentToken: string): Promise<BootstrapResponse> {
    const cluster = await this.tokens.clusterForAgentToken(agentToken);
    if (cluster === undefined) throw new UnauthorizedError('agent token is unknown or revoked');
    return {
      cluster,
      natsUrl: this.config.agentNatsUrl ?? this.config.natsUrl,
      subjectPrefix: this.config.subjectPrefix,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      hubPublicKey: this.signer.publicKeyPem,
      // The agent's own NATS user, when NATS authenticates.
      ...(await this.natsCredentials.issue(cluster, agentToken)),
    };
  }
}
