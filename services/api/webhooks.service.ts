import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { GitRepoEventType, type Subjects, gitRepoEvent } from '../../libs/contracts/index.js';
import {
  GitRepoRepository,
  InvalidInputError,
  WebhookDeliveryRepository,
} from '../../libs/db/index.js';
import type { GitRepo } from '../../libs/db/index.js';
import {
  WebhookError,
  isPullRequestWebhook,
  normalizeRepoUrl,
  parsePullRequestWebhook,
  parsePushWebhook,
  webhookReplayKeys,
} from '../../libs/git/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';
import { PlansService } from './plans.service.js';

/** A refused signature is logged at most this often per GitRepo (the caller learns nothing). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * Push webhooks from GitHub, GitLab and Gitea: a delivery syncs the GitRepos whose URL the push
 * names, at once (whether or not they poll). A repo with a webhook secret is only synced by a
 * push signed with it. A delivery is acted on once (by its delivery id and by the digest of its
 * body, remembered in PostgreSQL for 30 days by every replica). Refusals and replays are logged,
 * never told to the caller. A pull/merge request gets a plan of its head commit, never a sync.
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');
  private readonly refusalsLoggedAt = new Map<string, number>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SUBJECTS) private readonly subjects: Subjects,
    private readonly repos: GitRepoRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly plans: PlansService,
  ) {}

  /**
   * Acts on one delivery: asks for a sync of every GitRepo it is for and may sync. Only what the
   * request itself gets wrong (unknown provider, bad JSON, ...) is an error (InvalidInputError).
   */
  async receive(
    headers: Record<string, string | string[] | undefined>,
    raw: Buffer,
  ): Promise<void> {
    if (isPullRequestWebhook(headers)) return this.pullRequest(headers, raw);
    let event;
    try {
      event = parsePushWebhook(headers, raw);
    } catch (err) {
      if (err instanceof WebhookError) throw new InvalidInputError(err.message);
      throw err;
    }
    if (event.ping) return;
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
    if (accepted.length === 0) return;
    // Claimed only once some GitRepo accepted it, so a forged delivery cannot use up an id.
    if (!(await this.deliveries.claim(webhookReplayKeys(headers, raw)))) {
      this.logger.warn(
        `a replayed webhook delivery was ignored (${accepted.length} GitRepo(s) matched)`,
      );
      return;
    }
    for (const name of accepted) {
      publishJson(
        this.nc,
        this.subjects.event('gitrepo', name),
        gitRepoEvent(GitRepoEventType.SyncRequested, name),
      );
    }
  }

  /**
   * A pull/merge request opened or given new commits: the GitRepos of its repository that follow
   * the branch it targets get a plan of its head commit (`GET /api/v1/plans/<commit>`). Nothing
   * is synced or deployed.
   */
  private async pullRequest(
    headers: Record<string, string | string[] | undefined>,
    raw: Buffer,
  ): Promise<void> {
    let event;
    try {
      event = parsePullRequestWebhook(headers, raw);
    } catch (err) {
      if (err instanceof WebhookError) throw new InvalidInputError(err.message);
      throw err;
    }
    if (event === undefined) return;
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
    if (accepted.length === 0) return;
    if (!(await this.deliveries.claim(webhookReplayKeys(headers, raw)))) {
      this.logger.warn(`a replayed pull request webhook was ignored`);
      return;
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
  }

  private logRefusal(gitrepo: string, reason: string): void {
    const now = Date.now();
    const last = this.refusalsLoggedAt.get(gitrepo);
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return;
    this.refusalsLoggedAt.set(gitrepo, now);
    this.logger.warn(`webhook for gitrepo ${gitrepo} refused: ${reason}`);
  }
}
