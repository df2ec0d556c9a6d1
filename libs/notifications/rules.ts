import { z } from 'zod';
import { type Requirement, matchesLabels, parseSelector } from '../selectors/index.js';
import {
  type NotificationEvent,
  notificationEventKinds,
  severities,
  severityRank,
} from './events.js';

/** A notification rule as a user writes it: which events go to which targets. */
export const NotificationRuleSpecSchema = z.strictObject({
  /** Target names the matching events are sent to. */
  targets: z.array(z.string().min(1)).min(1, 'a rule needs at least one target'),
  /** Event kinds to forward (default: every kind). */
  kinds: z.array(z.enum(notificationEventKinds)).default([]),
  /** Only events of these GitRepos (default: any). */
  gitrepos: z.array(z.string().min(1)).default([]),
  /** Only events of these bundles (default: any). */
  bundles: z.array(z.string().min(1)).default([]),
  /**
   * Kubernetes selector syntax: events about a cluster are forwarded only when its labels match;
   * events about no single cluster (rollouts, GitRepos) are not filtered by it.
   */
  clusterSelector: z
    .string()
    .nullable()
    .default(null)
    .superRefine((text, ctx) => {
      if (text === null) return;
      try {
        parseSelector(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `clusterSelector: ${(err as Error).message}` });
      }
    }),
  /** The least severity forwarded (default info: everything). */
  severity: z.enum(severities).default('info'),
});
export type NotificationRuleSpec = z.infer<typeof NotificationRuleSpecSchema>;

/** Whether `rule` forwards `event`. */
export function ruleMatches(rule: NotificationRuleSpec, event: NotificationEvent): boolean {
  if (rule.kinds.length > 0 && !rule.kinds.includes(event.kind)) return false;
  if (severityRank(event.severity) < severityRank(rule.severity)) return false;
  if (rule.gitrepos.length > 0 && !(event.gitrepo && rule.gitrepos.includes(event.gitrepo)))
    return false;
  if (rule.bundles.length > 0 && !(event.bundle && rule.bundles.includes(event.bundle)))
    return false;
  if (rule.clusterSelector !== null && event.cluster !== undefined) {
    const reqs: Requirement[] = parseSelector(rule.clusterSelector);
    if (!matchesLabels(reqs, event.clusterLabels ?? {})) return false;
  }
  return true;
}

/** The target names an event goes to under `rules`, each once. */
export function targetsFor(
  rules: readonly NotificationRuleSpec[],
  event: NotificationEvent,
): string[] {
  const names = new Set<string>();
  for (const rule of rules) {
    if (ruleMatches(rule, event)) for (const t of rule.targets) names.add(t);
  }
  return [...names].sort();
}
