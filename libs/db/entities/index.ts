import { AgentSequenceEntity } from './agent-sequence.entity.js';
import { AgentTokenEntity } from './agent-token.entity.js';
import { ApiTokenEntity } from './api-token.entity.js';
import { BundleRevisionEntity } from './bundle-revision.entity.js';
import { BundleTargetEntity } from './bundle-target.entity.js';
import { BundleEntity } from './bundle.entity.js';
import { ClusterGroupEntity } from './cluster-group.entity.js';
import { ClusterEntity } from './cluster.entity.js';
import { DeliveryLeaseEntity } from './delivery-lease.entity.js';
import { DeploymentEntity } from './deployment.entity.js';
import { GitRepoEntity } from './gitrepo.entity.js';
import { HubSettingEntity } from './hub-setting.entity.js';
import { NatsRevocationEntity } from './nats-revocation.entity.js';
import { PlanEntity } from './plan.entity.js';
import {
  NotificationOutboxEntity,
  NotificationRuleEntity,
  NotificationTargetEntity,
} from './notification.entity.js';
import { RegistrationTokenEntity } from './registration-token.entity.js';
import { RolloutAuditEntity } from './rollout-audit.entity.js';
import { RolloutEntity } from './rollout.entity.js';
import { VariantRenderEntity } from './variant-render.entity.js';
import { WebhookDeliveryEntity } from './webhook-delivery.entity.js';

export {
  AgentSequenceEntity,
  AgentTokenEntity,
  ApiTokenEntity,
  BundleEntity,
  BundleRevisionEntity,
  BundleTargetEntity,
  ClusterEntity,
  ClusterGroupEntity,
  DeliveryLeaseEntity,
  DeploymentEntity,
  GitRepoEntity,
  HubSettingEntity,
  NatsRevocationEntity,
  PlanEntity,
  RegistrationTokenEntity,
  RolloutAuditEntity,
  RolloutEntity,
  VariantRenderEntity,
  WebhookDeliveryEntity,
  NotificationTargetEntity,
  NotificationRuleEntity,
  NotificationOutboxEntity,
};
export type { GitCredentials, TargetSpec } from './gitrepo.entity.js';

/** Every entity of the hub's schema. */
export const entities = [
  ClusterEntity,
  AgentTokenEntity,
  RegistrationTokenEntity,
  ClusterGroupEntity,
  GitRepoEntity,
  BundleEntity,
  BundleRevisionEntity,
  VariantRenderEntity,
  BundleTargetEntity,
  DeploymentEntity,
  RolloutEntity,
  RolloutAuditEntity,
  DeliveryLeaseEntity,
  HubSettingEntity,
  ApiTokenEntity,
  NatsRevocationEntity,
  AgentSequenceEntity,
  WebhookDeliveryEntity,
  PlanEntity,
  NotificationTargetEntity,
  NotificationRuleEntity,
  NotificationOutboxEntity,
];
