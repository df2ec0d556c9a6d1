import { Injectable } from '@nestjs/common';
import {
  DeliveryState,
  InvalidInputError,
  type NotificationDelivery,
  NotificationRepository,
  type NotificationRule,
  type NotificationTarget,
  type Page,
  type PageRequest,
} from '../../libs/db/index.js';
import type {
  NotificationRuleSpec,
  NotificationTargetSpec,
} from '../../libs/notifications/index.js';

/** A target as the API shows it: never its URL, HMAC key or token, only whether it has them. */
export interface NotificationTargetView {
  name: string;
  type: string;
  /** The host of the URL (its path and query may hold a token). */
  urlHost: string | null;
  hasHmacKey: boolean;
  hasToken: boolean;
  allowHttp: boolean;
  rateLimitPerMinute: number;
  timeoutMs: number;
  context: string;
  createdAt: string;
}

/** Notification targets, rules and deliveries for `/api/v1/notifications`. */
@Injectable()
export class NotificationsService {
  constructor(private readonly store: NotificationRepository) {}

  async createTarget(name: string, spec: NotificationTargetSpec): Promise<NotificationTargetView> {
    return targetView(await this.store.createTarget(name, spec));
  }

  async getTarget(name: string): Promise<NotificationTargetView> {
    return targetView(await this.store.getTarget(name));
  }

  async listTargets(page: PageRequest): Promise<Page<NotificationTargetView>> {
    const result = await this.store.listTargets(page);
    return { ...result, items: result.items.map(targetView) };
  }

  deleteTarget(name: string): Promise<void> {
    return this.store.deleteTarget(name);
  }

  /** Creates a rule; every target it names must exist (400 naming those that do not). */
  async createRule(name: string, spec: NotificationRuleSpec): Promise<NotificationRule> {
    const existing = new Set(await this.store.existingTargets(spec.targets));
    const missing = spec.targets.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new InvalidInputError(
        `targets: no notification target named ${missing.map((m) => `"${m}"`).join(', ')}`,
      );
    }
    return this.store.createRule(name, spec);
  }

  getRule(name: string): Promise<NotificationRule> {
    return this.store.getRule(name);
  }

  listRules(page: PageRequest): Promise<Page<NotificationRule>> {
    return this.store.listRules(page);
  }

  deleteRule(name: string): Promise<void> {
    return this.store.deleteRule(name);
  }

  /** Deliveries, newest first; `state` is Pending, Delivered, Dead or Superseded. */
  listDeliveries(
    filter: { state?: string; target?: string },
    page: PageRequest,
  ): Promise<Page<NotificationDelivery>> {
    const states = Object.values(DeliveryState) as string[];
    if (filter.state !== undefined && !states.includes(filter.state)) {
      throw new InvalidInputError(`state must be one of ${states.join(', ')}`);
    }
    if (page.after !== undefined && !/^\d{1,18}$/.test(page.after)) {
      throw new InvalidInputError('continue is not a token of this list');
    }
    return this.store.listDeliveries(
      {
        ...(filter.state === undefined ? {} : { state: filter.state as DeliveryState }),
        ...(filter.target === undefined ? {} : { target: filter.target }),
      },
      page,
    );
  }

  /** Sends a dead-lettered delivery again. */
  retry(id: string): Promise<NotificationDelivery> {
    if (!/^[1-9]\d{0,18}$/.test(id)) throw new InvalidInputError('id must be a delivery id');
    return this.store.retryDead(id);
  }
}

function targetView(t: NotificationTarget): NotificationTargetView {
  let urlHost: string | null = null;
  const url = t.url?.reveal();
  if (url !== undefined) {
    try {
      urlHost = new URL(url).host;
    } catch {
      urlHost = null;
    }
  }
  return {
    name: t.name,
    type: t.type,
    urlHost,
    hasHmacKey: t.hmacKey !== null,
    hasToken: t.token !== null,
    allowHttp: t.allowHttp,
    rateLimitPerMinute: t.rateLimitPerMinute,
    timeoutMs: t.timeoutMs,
    context: t.context,
    createdAt: t.createdAt.toISOString(),
  };
}
