import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { GitRepoEventType, type Subjects, gitRepoEvent } from '../../libs/contracts/index.js';
import {
  GitRepoRepository,
  InvalidInputError,
  WebhookDeliveryRepository,
} from '../../libs/db/index.js';
import {
  WebhookError,
  normalizeRepoUrl,
  parsePushWebhook,
  webhookReplayKeys,
} from '../../libs/git/index.js';
import { publishJson } from '../../libs/nats/index.js';
import { NATS_CONNECTION, SUBJECTS } from '../shared/tokens.js';

/** A refused signature is logged at most this often per GitRepo (the caller learns nothing). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * Push webhooks from GitHub, GitLab and Gitea: a delivery syncs the GitRepos whose URL the push
 * names, at once (whether or not they poll). A repo with a webhook secret is only synced by a
 * push signed with it. A delivery is acted on once (by its delivery id and by the digest of its
 * body, remembered in PostgreSQL for 30 days by every replica). Refusals and replays are logged,
 * never told to the caller.
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
  ) {}

  /**
   * Acts on one delivery: asks for a sync of every GitRepo it is for and may sync. Only what the
   * request itself gets wrong (unknown provider, bad JSON, ...) is an error (InvalidInputError).
   */
  async receive(
    headers: Record<string, string | string[] | undefined>,
    raw: Buffer,
  ): Promise<void> {
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

  private logRefusal(gitrepo: string, reason: string): void {
    const now = Date.now();
    const last = this.refusalsLoggedAt.get(gitrepo);
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return;
    this.refusalsLoggedAt.set(gitrepo, now);
    this.logger.warn(`webhook for gitrepo ${gitrepo} refused: ${reason}`);
  }
}
