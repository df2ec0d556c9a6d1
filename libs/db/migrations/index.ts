import { Initial1732000000000 } from './1732000000000-initial.js';
import { GitOps1732100000000 } from './1732100000000-gitops.js';
import { TargetHolds1732200000000 } from './1732200000000-target-holds.js';
import { Rollouts1732300000000 } from './1732300000000-rollouts.js';
import { DeliveryLeases1732400000000 } from './1732400000000-delivery-leases.js';
import { HubSettings1732500000000 } from './1732500000000-hub-settings.js';
import { ApiTokens1732610000000 } from './1732610000000-api-tokens.js';
import { SecretsAtRest1732650000000 } from './1732650000000-secrets-at-rest.js';
import { NatsRevocations1732700000000 } from './1732700000000-nats-revocations.js';
import { WebhookDeliveries1732760000000 } from './1732760000000-webhook-deliveries.js';
import { GitRepoLastChanged1732810000000 } from './1732810000000-gitrepo-last-changed.js';
import { AgentSequences1732830000000 } from './1732830000000-agent-sequences.js';
import { HelmCharts1732850000000 } from './1732850000000-helm-charts.js';
import { GitRepoValues1732870000000 } from './1732870000000-gitrepo-values.js';
import { Plans1732890000000 } from './1732890000000-plans.js';
import { Notifications1732900000000 } from './1732900000000-notifications.js';
import { TargetVariants1732910000000 } from './1732910000000-target-variants.js';
import { DeploymentsFillfactor1732925000000 } from './1732925000000-deployments-fillfactor.js';

/** Every migration, oldest first. Add new ones at the end; never edit a released one. */
export const migrations = [
  Initial1732000000000,
  GitOps1732100000000,
  TargetHolds1732200000000,
  Rollouts1732300000000,
  DeliveryLeases1732400000000,
  HubSettings1732500000000,
  ApiTokens1732610000000,
  SecretsAtRest1732650000000,
  NatsRevocations1732700000000,
  WebhookDeliveries1732760000000,
  GitRepoLastChanged1732810000000,
  AgentSequences1732830000000,
  HelmCharts1732850000000,
  GitRepoValues1732870000000,
  Plans1732890000000,
  Notifications1732900000000,
  TargetVariants1732910000000,
  DeploymentsFillfactor1732925000000,
];
