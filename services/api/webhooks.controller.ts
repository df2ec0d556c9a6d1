import {
  Controller,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  Post,
  type RawBodyRequest,
  Req,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Request } from 'express';
import type { Subjects } from '../../libs/contracts/index.js';
import { GitRepoRepository } from '../../libs/db/index.js';
import { WebhookError, normalizeRepoUrl, parsePushWebhook } from '../../libs/git/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { Access } from '../shared/access.decorator.js';

/**
 * `POST /api/v1/webhooks/git`: GitHub, GitLab and Gitea push events sync the GitRepos whose
 * URL the push names, at once (whether or not they poll). A repo with a webhook secret is only
 * synced by a push signed with it.
 */
@ApiTags('webhooks')
@Access('public')
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly repos: GitRepoRepository,
  ) {}

  @Post('git')
  @HttpCode(202)
  @ApiOperation({ summary: 'Receive a push webhook from GitHub, GitLab or Gitea' })
  async git(
    @Req() req: RawBodyRequest<Request>,
    @Headers() headers: Record<string, string | string[] | undefined>,
  ) {
    const raw = req.rawBody ?? Buffer.alloc(0);
    try {
      const event = parsePushWebhook(headers, raw);
      if (event.ping) return { synced: [] };
      const urls = new Set(event.repoUrls.map(normalizeRepoUrl));
      const matching = (await this.repos.all()).filter((r) => urls.has(normalizeRepoUrl(r.url)));
      const synced: string[] = [];
      let refused = 0;
      for (const repo of matching) {
        if (
          event.branch !== undefined &&
          !repo.revision &&
          repo.branch !== null &&
          repo.branch !== event.branch
        )
          continue;
        if (repo.webhookSecret !== null) {
          try {
            parsePushWebhook(headers, raw, repo.webhookSecret.reveal());
          } catch (err) {
            if (err instanceof WebhookError && err.status === 401) {
              refused += 1;
              continue;
            }
            throw err;
          }
        }
        publishJson(this.nc, this.subjects.event('gitrepo', repo.name), {
          type: 'SyncRequested',
          gitrepo: repo.name,
          at: new Date().toISOString(),
        });
        synced.push(repo.name);
      }
      if (refused > 0 && synced.length === 0) {
        throw new WebhookError(
          401,
          'webhook signature does not match the secret of the GitRepo it names',
        );
      }
      return { synced };
    } catch (err) {
      if (err instanceof WebhookError) throw new HttpException(err.message, err.status);
      throw err;
    }
  }
}
