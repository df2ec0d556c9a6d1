import { AgentTokenEntity } from './agent-token.entity.js';
import { ClusterGroupEntity } from './cluster-group.entity.js';
import { ClusterEntity } from './cluster.entity.js';
import { RegistrationTokenEntity } from './registration-token.entity.js';

export { AgentTokenEntity, ClusterEntity, ClusterGroupEntity, RegistrationTokenEntity };

/** Every entity of the hub's schema. */
export const entities = [
  ClusterEntity,
  AgentTokenEntity,
  RegistrationTokenEntity,
  ClusterGroupEntity,
];
