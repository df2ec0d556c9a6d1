import { type DataSource, type EntityManager, IsNull } from 'typeorm';
import { TokenPrefix } from '../../contracts/tokens.js';
import { AgentTokenEntity } from '../entities/agent-token.entity.js';
import { RegistrationTokenEntity } from '../entities/registration-token.entity.js';
import { NotFoundError } from '../errors.js';
import { queryReturning } from '../returning.js';
import { generateToken, hashToken } from '../tokens.js';

/** What a registration token grants when it is used. */
export interface RegistrationGrant {
  tokenId: string;
  labels: Record<string, string>;
}

/** Agent and registration tokens. Only hashes are stored; plaintext is returned once. */
export class TokenRepository {
  constructor(private readonly ds: DataSource) {}

  /** Issues a new agent token for a cluster. */
  async createAgentToken(
    clusterName: string,
    manager: EntityManager = this.ds.manager,
  ): Promise<string> {
    const token = generateToken(TokenPrefix.Agent);
    await manager.insert(AgentTokenEntity, { clusterName, tokenHash: hashToken(token) });
    return token;
  }

  /** The cluster an agent token belongs to, or undefined when unknown or revoked. */
  async clusterForAgentToken(token: string): Promise<string | undefined> {
    if (!token.startsWith(TokenPrefix.Agent)) return undefined;
    const row = await this.ds
      .getRepository(AgentTokenEntity)
      .findOneBy({ tokenHash: hashToken(token), revokedAt: IsNull() });
    return row?.clusterName;
  }

  /** Hashes of a cluster's agent tokens that are not revoked (normally one). */
  async liveAgentTokenHashes(
    clusterName: string,
    manager: EntityManager = this.ds.manager,
  ): Promise<string[]> {
    const rows = await manager.find(AgentTokenEntity, {
      select: { tokenHash: true },
      where: { clusterName, revokedAt: IsNull() },
      order: { createdAt: 'ASC' },
    });
    return rows.map((r) => r.tokenHash);
  }

  /**
   * Revokes every agent token of a cluster and issues a fresh one (token rotation), in
   * `manager`'s transaction when given. Returns the new token and the hashes of those revoked.
   */
  async rotateAgentToken(
    clusterName: string,
    manager?: EntityManager,
  ): Promise<{ token: string; revokedHashes: string[] }> {
    const rotate = async (m: EntityManager) => {
      const revoked = await queryReturning<{ token_hash: string }>(
        m,
        `UPDATE agent_tokens SET revoked_at = now()
          WHERE cluster_name = $1 AND revoked_at IS NULL
        RETURNING token_hash`,
        [clusterName],
      );
      const token = await this.createAgentToken(clusterName, m);
      return { token, revokedHashes: revoked.map((r) => r.token_hash) };
    };
    return manager === undefined ? this.ds.transaction(rotate) : rotate(manager);
  }

  /** Creates a registration token. */
  async createRegistrationToken(input: {
    description: string | null;
    labels: Record<string, string>;
    maxUses: number | null;
    expiresAt: Date | null;
  }): Promise<{ token: string; entity: RegistrationTokenEntity }> {
    const token = generateToken(TokenPrefix.Registration);
    const repo = this.ds.getRepository(RegistrationTokenEntity);
    const entity = await repo.save(repo.create({ ...input, tokenHash: hashToken(token), uses: 0 }));
    return { token, entity };
  }

  /** Makes sure a registration token with this exact value exists (no expiry, no use limit). */
  async ensureRegistrationToken(token: string, description: string): Promise<void> {
    await this.ds.query(
      `INSERT INTO registration_tokens (token_hash, description) VALUES ($1, $2)
       ON CONFLICT (token_hash) DO NOTHING`,
      [hashToken(token), description],
    );
  }

  /** Every registration token (without secrets), newest first. */
  async listRegistrationTokens(): Promise<RegistrationTokenEntity[]> {
    return this.ds.getRepository(RegistrationTokenEntity).find({ order: { createdAt: 'DESC' } });
  }

  /** Deletes a registration token; clusters it registered stay. */
  async deleteRegistrationToken(id: string): Promise<void> {
    const result = await this.ds.getRepository(RegistrationTokenEntity).delete({ id });
    if (!result.affected) throw new NotFoundError(`registration token "${id}" not found`);
  }

  /**
   * Uses up one registration of the token, atomically, inside `manager`'s transaction (so a
   * failed registration gives the use back). Undefined when the token is unknown, expired or
   * used up.
   */
  async consumeRegistrationToken(
    token: string,
    manager: EntityManager,
  ): Promise<RegistrationGrant | undefined> {
    if (!token.startsWith(TokenPrefix.Registration)) return undefined;
    const [row] = await queryReturning<{ id: string; labels: Record<string, string> }>(
      manager,
      `UPDATE registration_tokens SET uses = uses + 1
        WHERE token_hash = $1 AND (max_uses IS NULL OR uses < max_uses)
          AND (expires_at IS NULL OR expires_at > now())
      RETURNING id, labels`,
      [hashToken(token)],
    );
    return row ? { tokenId: row.id, labels: row.labels } : undefined;
  }
}
