import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { parseDuration } from '../../../libs/config/config.js';
import {
  type ApiTokenEntity,
  ApiTokenRepository,
  InvalidInputError,
} from '../../../libs/db/index.js';
import type { Role } from '../../../libs/auth/index.js';
import { validateClusterName } from '../../../libs/selectors/index.js';
import type { ResolvedHubConfig } from '../../shared/infrastructure.module.js';
import { HUB_CONFIG } from '../../shared/tokens.js';

const MAX_TTL_MS = 5 * 366 * 24 * 3_600_000;

export function apiTokenView(t: ApiTokenEntity) {
  return {
    name: t.name,
    role: t.role,
    description: t.description,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
  };
}

/** `/api/v1/api-tokens` and the bootstrap admin token. */
@Injectable()
export class ApiTokensService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly tokens: ApiTokenRepository,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
  ) {}

  /** Sets or makes the bootstrap admin token, and says loudly when auth is off. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.authDisabled) {
      const bar = '!'.repeat(78);
      this.logger.warn(
        `\n${bar}\n!! API AUTHENTICATION IS OFF (FLOTILLA_INSECURE_DISABLE_AUTH=true): anyone who\n` +
          `!! can reach this hub is an admin. Use this only on a throw-away local machine.\n${bar}`,
      );
    }
    const generated = await this.tokens.ensureBootstrapAdmin(this.config.adminToken);
    if (generated !== undefined) {
      this.logger.warn(
        `Generated the bootstrap admin API token (shown only this once; keep it safe):\n\n` +
          `    ${generated}\n\n` +
          `Use it with the CLI as FLOTILLA_TOKEN=<token> or --token, or as "Authorization: Bearer <token>". ` +
          `Set FLOTILLA_ADMIN_TOKEN to choose or replace it.`,
      );
    }
  }

  async create(input: { name: string; role: Role; ttl?: string; description?: string }) {
    const nameError = validateClusterName(input.name);
    if (nameError) throw new InvalidInputError(`name: ${nameError}`);
    let expiresAt: Date | null = null;
    if (input.ttl !== undefined) {
      let ttlMs: number;
      try {
        ttlMs = parseDuration(input.ttl);
      } catch (err) {
        throw new InvalidInputError(`ttl: ${(err as Error).message}`);
      }
      if (ttlMs <= 0 || ttlMs > MAX_TTL_MS)
        throw new InvalidInputError('ttl: must be more than 0 and at most 5 years');
      expiresAt = new Date(Date.now() + ttlMs);
    }
    const { token, entity } = await this.tokens.create({
      name: input.name,
      role: input.role,
      description: input.description ?? null,
      expiresAt,
    });
    return { ...apiTokenView(entity), token };
  }

  async list() {
    return { items: (await this.tokens.list()).map(apiTokenView) };
  }

  async get(name: string) {
    return apiTokenView(await this.tokens.get(name));
  }

  async delete(name: string): Promise<void> {
    await this.tokens.delete(name);
  }
}
