import { Controller, Headers, HttpCode, Post, type RawBodyRequest, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Access } from '../shared/access.decorator.js';
import { WebhooksService } from './webhooks.service.js';

/** The one answer to every well-formed delivery: it says nothing about which GitRepos exist. */
export const WEBHOOK_RECEIVED = { received: true } as const;

/**
 * `POST /api/v1/webhooks/git`: GitHub, GitLab and Gitea push events sync the GitRepos whose
 * URL the push names (WebhooksService). Every well-formed delivery gets the same 202, whether it
 * matched, was refused or was a replay: unauthenticated callers learn nothing about the GitRepos.
 */
@ApiTags('webhooks')
@Access('public')
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post('git')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Receive a push webhook from GitHub, GitLab or Gitea',
    description:
      'Answers 202 {"received": true} to every well-formed delivery, whatever it matched; 400 for a malformed one.',
  })
  async git(
    @Req() req: RawBodyRequest<Request>,
    @Headers() headers: Record<string, string | string[] | undefined>,
  ) {
    await this.webhooks.receive(headers, req.rawBody ?? Buffer.alloc(0));
    return WEBHOOK_RECEIVED;
  }
}
