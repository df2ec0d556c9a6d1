import {
  Controller,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  Logger,
  Post,
  type RawBodyRequest,
  Req,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Request } from 'express';
import { GitRepoEventType, type Subjects, gitRepoEvent } from '../../libs/contracts/index.js';
import { GitRepoRepository, WebhookDeliveryRepository } from '../../libs/db/index.js';
import {
  WebhookError,
  isPullRequestWebhook,
  normalizeRepoUrl,
  parsePullRequestWebhook,
  parsePushWebhook,
  webhookReplayKeys,
} from '../../libs/git/index.js';
import type { GitRepo } from '../../libs/db/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { PlansService } from './plans.service.js';
import { Access } from '../shared/access.decorator.js';

/** The one answer to every well-formed delivery: it says nothing about which GitRepos exist. */
export const WEBHOOK_RECEIVED = { received: true } as const;

/** A refused signature is logged at most this often per GitRepo (the caller learns nothing). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * `POST /api/v1/webhooks/git`: GitHub, GitLab and Gitea push events sync the GitRepos whose
 * URL the push names, at once (whether or not they poll). A repo with a webhook secret is only
 * synced by a push signed with it. A delivery is acted on once (by its delivery id and by the
 * digest of its body, remembered in PostgreSQL for 30 days by every replica), and every
 * well-formed delivery gets the same 202, whether it matched, was refused or was a replay:
 * unauthenticated callers learn nothing about the GitRepos. Refusals and replays are logged.
 */
@ApiTags('webhooks')
@Access('public')
@Controller('api/v1/webhooks')
export class WebhooksController {
  private readonly logger = new Logger('Webhooks');
  private readonly refusalsLoggedAt = new Map<string, number>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly repos: GitRepoRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly plans: PlansService,
  ) {}

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
    const raw = req.rawBody ?? Buffer.alloc(0);
    if (isPullRequestWebhook(headers)) return this.pullRequest(headers, raw);
    let event;
    try {
      // Only what the request itself gets wrong is answered: unknown provider, bad JSON, ...
      event = parsePushWebhook(headers, raw);
    } catch (err) {
      if (err instanceof WebhookError) throw new HttpException(err.message, 400);
      throw err;
    }
    if (event.ping) return WEBHOOK_RECEIVED;
    const urls = new Set(event.repoUrls.map(normalizeRepoUrl));
    const matching = (await this.repos.all()).filter((r) => urls.has(normalizeRepoUrl(r.url)));
    const accepted: string[] = [];
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
          if (!(err instanceof WebhookError)) throw err;
          this.logRefusal(repo.name, err.message);
          continue;
        }
      }
      accepted.push(repo.name);
    }
    if (accepted.length === 0) return WEBHOOK_RECEIVED;
    // Claimed only once some GitRepo accepted it, so a forged delivery cannot use up an id.
    if (!(await this.deliveries.claim(webhookReplayKeys(headers, raw)))) {
      this.logger.warn(
        `a replayed webhook delivery was ignored (${accepted.length} GitRepo(s) matched)`,
      );
      return WEBHOOK_RECEIVED;
    }
    for (const name of accepted) {
      publishJson(
        this.nc,
        this.subjects.event('gitrepo', name),
        gitRepoEvent(GitRepoEventType.SyncRequested, name),
      );
    }
    return WEBHOOK_RECEIVED;
  }

  /**
   * A pull/merge request opened or given new commits: the GitRepos of its repository that follow
   * the branch it targets get a plan of its head commit (`GET /api/v1/plans/<commit>`). Nothing
   * is synced or deployed.
   */
  private async pullRequest(
    headers: Record<string, string | string[] | undefined>,
    raw: Buffer,
  ): Promise<typeof WEBHOOK_RECEIVED> {
    let event;
    try {
      event = parsePullRequestWebhook(headers, raw);
    } catch (err) {
      if (err instanceof WebhookError) throw new HttpException(err.message, 400);
      throw err;
    }
    if (event === undefined) return WEBHOOK_RECEIVED;
    const urls = new Set(event.repoUrls.map(normalizeRepoUrl));
    const accepted: GitRepo[] = [];
    for (const repo of await this.repos.all()) {
      if (!urls.has(normalizeRepoUrl(repo.url))) continue;
      if (!repo.revision && (repo.branch ?? 'main') !== event.baseBranch) continue;
      if (repo.webhookSecret !== null) {
        try {
          parsePullRequestWebhook(headers, raw, repo.webhookSecret.reveal());
        } catch (err) {
          if (!(err instanceof WebhookError)) throw err;
          this.logRefusal(repo.name, err.message);
          continue;
        }
      }
      accepted.push(repo);
    }
    if (accepted.length === 0) return WEBHOOK_RECEIVED;
    if (!(await this.deliveries.claim(webhookReplayKeys(headers, raw)))) {
      this.logger.warn(`a replayed pull request webhook was ignored`);
      return WEBHOOK_RECEIVED;
    }
    const { provider, number, headCommit } = event;
    for (const repo of accepted) {
      // Planned in the background: rendering may take longer than a webhook sender waits.
      this.plans.create(repo.name, { revision: headCommit }, `webhook:${provider}`).then(
        (plan) =>
          this.logger.log(
            `pull request #${number} of ${repo.name}: plan ${plan.id} at ${headCommit.slice(0, 8)}`,
          ),
        (err: unknown) =>
          this.logger.warn(
            `pull request #${number} of ${repo.name}: no plan: ${err instanceof Error ? err.message : String(err)}`,
          ),
      );
    }
    return WEBHOOK_RECEIVED;
  }

  private logRefusal(gitrepo: string, reason: string): void {
    const now = Date.now();
    const last = this.refusalsLoggedAt.get(gitrepo);
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return;
    this.refusalsLoggedAt.set(gitrepo, now);
    this.logger.warn(`webhook for gitrepo ${gitrepo} refused: ${reason}`);
  }
}
