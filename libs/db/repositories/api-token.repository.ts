import type { DataSource } from 'typeorm';
import type { Role } from '../../auth/roles.js';
import { TokenPrefix } from '../../contracts/tokens.js';
import { ApiTokenEntity } from '../entities/api-token.entity.js';
import { ConflictError, NotFoundError, isUniqueViolation } from '../errors.js';
import { queryReturning } from '../returning.js';
import { generateToken, hashToken } from '../tokens.js';

/** The name of the admin token made at first start or taken from FLOTILLA_ADMIN_TOKEN. */
export const BOOTSTRAP_ADMIN_TOKEN_NAME = 'bootstrap-admin';

/** Who an API token belongs to, or why it is not accepted. */
export type ApiTokenLookup = { ok: true; token: ApiTokenEntity } | { ok: false; reason: string };

/** API tokens with roles. Only hashes are stored; the plaintext is returned once, at creation. */
export class ApiTokenRepository {
  constructor(private readonly ds: DataSource) {}

  /** Creates a token; a duplicate name is a ConflictError. */
  async create(input: {
    name: string;
    role: Role;
    description?: string | null;
    expiresAt?: Date | null;
  }): Promise<{ token: string; entity: ApiTokenEntity }> {
    const token = generateToken(TokenPrefix.Api);
    const repo = this.ds.getRepository(ApiTokenEntity);
    try {
      const entity = await repo.save(
        repo.create({
          name: input.name,
          role: input.role,
          description: input.description ?? null,
          expiresAt: input.expiresAt ?? null,
          tokenHash: hashToken(token),
          lastUsedAt: null,
        }),
      );
      return { token, entity };
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ConflictError(`API token "${input.name}" already exists`);
      throw err;
    }
  }

  /** Every token (without secrets), by name. */
  async list(): Promise<ApiTokenEntity[]> {
    return this.ds.getRepository(ApiTokenEntity).find({ order: { name: 'ASC' } });
  }

  async get(name: string): Promise<ApiTokenEntity> {
    const row = await this.ds.getRepository(ApiTokenEntity).findOneBy({ name });
    if (!row) throw new NotFoundError(`API token "${name}" not found`);
    return row;
  }

  /**
   * Issues a new secret for the token `name`, creating it or replacing its secret and role (the
   * old secret stops working). For tokens a program on the hub's machine makes for itself, such
   * as `flotilla dev`'s.
   */
  async issue(name: string, role: Role, description: string): Promise<string> {
    const token = generateToken(TokenPrefix.Api);
    await this.ds.query(
      `INSERT INTO api_tokens (name, role, token_hash, description) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE
         SET role = EXCLUDED.role, token_hash = EXCLUDED.token_hash, expires_at = NULL,
             description = EXCLUDED.description`,
      [name, role, hashToken(token), description],
    );
    return token;
  }

  /** Deletes (revokes) a token at once. */
  async delete(name: string): Promise<void> {
    const result = await this.ds.getRepository(ApiTokenEntity).delete({ name });
    if (!result.affected) throw new NotFoundError(`API token "${name}" not found`);
  }

  /** The token a caller presented, when it is known and not expired. */
  async lookup(token: string, now = new Date()): Promise<ApiTokenLookup> {
    if (token.startsWith(TokenPrefix.Agent) || token.startsWith(TokenPrefix.Registration)) {
      return {
        ok: false,
        reason: 'agent and registration tokens work only for /api/v1/agent endpoints',
      };
    }
    const row = await this.ds
      .getRepository(ApiTokenEntity)
      .findOneBy({ tokenHash: hashToken(token) });
    if (!row) return { ok: false, reason: 'API token is unknown or revoked' };
    if (row.expiresAt !== null && row.expiresAt <= now) {
      return {
        ok: false,
        reason: `API token "${row.name}" expired at ${row.expiresAt.toISOString()}`,
      };
    }
    return { ok: true, token: row };
  }

  async touch(id: string, at = new Date()): Promise<void> {
    await this.ds.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [id, at]);
  }

  /**
   * The admin token every hub starts with. Given a value (FLOTILLA_ADMIN_TOKEN), the bootstrap
   * admin token is set to it, replacing an earlier one, and undefined is returned. Without one, a
   * token is generated only when the hub has no admin token at all (its first start); the
   * plaintext is returned so it can be shown once. With several replicas starting at once, only
   * one of them makes (and returns) it.
   */
  async ensureBootstrapAdmin(given: string | undefined): Promise<string | undefined> {
    if (given !== undefined) {
      await this.ds.query(
        `INSERT INTO api_tokens (name, role, token_hash, description)
         VALUES ($1, 'admin', $2, 'from FLOTILLA_ADMIN_TOKEN')
         ON CONFLICT (name) DO UPDATE
           SET role = 'admin', token_hash = EXCLUDED.token_hash, expires_at = NULL,
               description = EXCLUDED.description`,
        [BOOTSTRAP_ADMIN_TOKEN_NAME, hashToken(given)],
      );
      return undefined;
    }
    const token = generateToken(TokenPrefix.Api);
    const inserted = await queryReturning<{ id: string }>(
      this.ds,
      `INSERT INTO api_tokens (name, role, token_hash, description)
       SELECT $1, 'admin', $2, 'generated at first start'
        WHERE NOT EXISTS (SELECT 1 FROM api_tokens WHERE role = 'admin')
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [BOOTSTRAP_ADMIN_TOKEN_NAME, hashToken(token)],
    );
    return inserted.length > 0 ? token : undefined;
  }
}
