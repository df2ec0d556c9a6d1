import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { parseDuration } from '../../libs/config/config.js';
import { InvalidInputError, TokenRepository } from '../../libs/db/index.js';
import { validateLabels } from '../../libs/selectors/index.js';
import type { ResolvedHubConfig } from '../shared/infrastructure.module.js';
import { HUB_CONFIG } from '../shared/tokens.js';
import { registrationTokenView } from './views.js';

const DEFAULT_TTL = '24h';
const MAX_TTL_MS = 366 * 24 * 3_600_000;

/** Registration tokens: let agents register themselves (Fleet's ClusterRegistrationToken). */
@Injectable()
export class RegistrationTokensService implements OnApplicationBootstrap {
  constructor(
    private readonly tokens: TokenRepository,
    @Inject(HUB_CONFIG) private readonly config: ResolvedHubConfig,
  ) {}

  /** Registers FLOTILLA_REGISTRATION_TOKEN, when set. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.presetRegistrationToken) {
      await this.tokens.ensureRegistrationToken(
        this.config.presetRegistrationToken,
        'FLOTILLA_REGISTRATION_TOKEN',
      );
    }
  }

  async create(input: {
    ttl?: string;
    maxUses?: number;
    labels?: Record<string, string>;
    description?: string;
  }): Promise<ReturnType<typeof registrationTokenView> & { token: string }> {
    let ttlMs: number;
    try {
      ttlMs = parseDuration(input.ttl ?? DEFAULT_TTL);
    } catch (err) {
      throw new InvalidInputError(`ttl: ${(err as Error).message}`);
    }
    if (ttlMs <= 0 || ttlMs > MAX_TTL_MS)
      throw new InvalidInputError('ttl: must be more than 0 and at most 366 days');
    const labels = input.labels ?? {};
    const labelErrors = validateLabels(labels);
    if (labelErrors.length > 0) throw new InvalidInputError(labelErrors.join('; '));
    const { token, entity } = await this.tokens.createRegistrationToken({
      description: input.description ?? null,
      labels,
      maxUses: input.maxUses ?? null,
      expiresAt: new Date(Date.now() + ttlMs),
    });
    return { ...registrationTokenView(entity), token };
  }

  async list() {
    return { items: (await this.tokens.listRegistrationTokens()).map(registrationTokenView) };
  }

  async delete(id: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new InvalidInputError(`"${id}" is not a token id`);
    await this.tokens.deleteRegistrationToken(id);
  }
}
