import { Inject, Injectable, Optional } from '@nestjs/common';
import { ClusterRepository, DEFAULT_PAGE_SIZE, DeploymentRepository } from '../../libs/db/index.js';
import { type Cached, SummaryCache } from '../../libs/status/summary-cache.js';
import { driftSummary } from '../../libs/status/drift-summary.js';
import type { FleetStatusView } from '../../libs/contracts/api-views.js';
import { deploymentView, summaryOf, totalOf } from './fleet-summary.js';
import { countsView } from './views.js';

/** The longest the API serves the same counts (ms): they are computed at most once a second. */
export const SUMMARY_MAX_AGE_MS = 1000;

/** How many non-ready deployments (worst first) the cache keeps: one default page of /status. */
export const NON_READY_HEAD = DEFAULT_PAGE_SIZE;

/** Injection token of another head size (tests). */
export const NON_READY_HEAD_SIZE = 'FLOTILLA_NON_READY_HEAD_SIZE';

/** The fleet's counts, as one refresh computed them. */
export interface FleetCounts {
  clusters: Record<string, number>;
  /** Deployments by state, per bundle (a bundle with none is absent). */
  byBundle: Map<string, Record<string, number>>;
  /** Deployments by state, over the fleet (the sum of `byBundle`). */
  byState: Record<string, number>;
}

type NonReadyItem = FleetStatusView['nonReady'][number];

/**
 * What the API's summaries read: the fleet's deployment counts by (bundle, state) from one
 * GROUP BY, and the cluster counts, computed at most once a second however many callers ask
 * (`SummaryCache`: callers get the last result at once, only the first one waits); and the first
 * page of non-ready deployments (worst first), likewise. `/api/v1/status`, every GitRepo and
 * bundle summary and the gRPC watch read them; each answer carries `computedAt`.
 *
 * Why the non-ready page is cached rather than indexed: its order (worst state first) is by the
 * state users see, computed from a deployment, its target and its cluster's connection state
 * (`effectiveStateSql`), so no index matches it; EXPLAIN ANALYZE at 10,000 × 10 (100,000 rows)
 * shows a full join of deployments and targets and a top-N sort, 241 ms for the first 500 rows,
 * as long as the GROUP BY of the counts (244 ms).
 */
@Injectable()
export class FleetSummaryCache {
  private readonly counts: SummaryCache<FleetCounts>;
  private readonly head: SummaryCache<{ counts: FleetCounts; nonReady: NonReadyItem[] }>;

  constructor(
    private readonly clusters: ClusterRepository,
    private readonly deployments: DeploymentRepository,
    /** How many non-ready deployments the cache keeps (tests make it small). */
    @Optional() @Inject(NON_READY_HEAD_SIZE) private readonly headSize: number = NON_READY_HEAD,
  ) {
    // Wall-clock time, not the services' CLOCK (which tests move by hand): it bounds how often
    // PostgreSQL is asked.
    const options = {
      maxAgeMs: SUMMARY_MAX_AGE_MS,
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    };
    this.counts = new SummaryCache(() => this.computeCounts(), options);
    // The first page comes with the counts of the same moment (a /status page agrees with
    // itself), and those counts serve the other summaries too.
    this.head = new SummaryCache(async () => {
      const at = Date.now();
      const [counts, nonReady] = await Promise.all([
        this.computeCounts(),
        this.nonReadyPage(0, this.headSize),
      ]);
      this.counts.offer(counts, at);
      return { counts, nonReady };
    }, options);
  }

  /** The fleet's counts (at most a second old once warm). */
  fleetCounts(): Promise<Cached<FleetCounts>> {
    return this.counts.get();
  }

  /**
   * The fleet's counts computed at `since` (epoch ms) or later: what the watch sends after a
   * batch of changes it saw by then (still at most one count query a second).
   */
  fleetCountsSince(since: number): Promise<Cached<FleetCounts>> {
    return this.counts.fresh(since);
  }

  /** How many times the counts were computed (each one GROUP BY over the fleet). */
  get countComputations(): number {
    return this.counts.computations;
  }

  /**
   * The fleet's counts with the non-ready deployments `offset`/`limit` (worst first) read at the
   * same moment, from the cached first page; undefined when the page goes past it (a later page:
   * `nonReadyPage`).
   */
  async statusHead(
    offset: number,
    limit: number,
  ): Promise<Cached<{ counts: FleetCounts; nonReady: NonReadyItem[] }> | undefined> {
    if (offset + limit > this.headSize) return undefined;
    const { value, computedAt } = await this.head.get();
    return {
      value: { counts: value.counts, nonReady: value.nonReady.slice(offset, offset + limit) },
      computedAt,
    };
  }

  /** A page of the non-ready deployments, worst first, read now (not cached). */
  nonReady(offset: number, limit: number): Promise<NonReadyItem[]> {
    return this.nonReadyPage(offset, limit);
  }

  /** Every non-ready deployment (not cached: GetFleetStatus and the watch's snapshot). */
  allNonReady(): Promise<NonReadyItem[]> {
    return this.nonReadyPage(0, undefined);
  }

  private async computeCounts(): Promise<FleetCounts> {
    const [clusters, byBundle] = await Promise.all([
      this.clusters.countByState(),
      this.deployments.countByBundleAndState(),
    ]);
    const byState: Record<string, number> = {};
    for (const counts of byBundle.values()) {
      for (const [state, n] of Object.entries(counts)) byState[state] = (byState[state] ?? 0) + n;
    }
    return { clusters, byBundle, byState: sortedByKey(byState) };
  }

  private async nonReadyPage(offset: number, limit: number | undefined): Promise<NonReadyItem[]> {
    const rows = await this.deployments.nonReady(offset, limit);
    return rows.map(deploymentView).map((d) => {
      const drift = d.state === 'Modified' ? driftSummary(d.resources) : '';
      return {
        cluster: d.cluster,
        bundle: d.bundle,
        state: d.state,
        message: d.message,
        ...(drift === '' ? {} : { drift }),
      };
    });
  }
}

/** Counts by state of `bundles` from the fleet's counts, as a summary with `computedAt`. */
export function summaryFrom(counts: FleetCounts, bundles: readonly string[], computedAt: number) {
  const byState: Record<string, number> = {};
  for (const b of bundles) {
    for (const [state, n] of Object.entries(counts.byBundle.get(b) ?? {})) {
      byState[state] = (byState[state] ?? 0) + n;
    }
  }
  return { ...summaryOf(sortedByKey(byState)), computedAt: new Date(computedAt).toISOString() };
}

/** The fleet status without its non-ready list, from the fleet's counts. */
export function fleetStatusFrom({ value, computedAt }: Cached<FleetCounts>): FleetStatusView {
  return {
    clusters: countsView(value.clusters),
    deployments: { total: totalOf(value.byState), byState: value.byState },
    nonReady: [],
    computedAt: new Date(computedAt).toISOString(),
  };
}

/** The same counts with their states in code-point order (as the SQL counts come). */
function sortedByKey(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
