/** What a report batch needs to know of a report: which deployment it is about, and when. */
export interface KeyedReport {
  bundle: string;
  cluster: string;
  observedAt: Date;
}

/** The key of a deployment in a batch (bundle and cluster, which hold no NUL). */
export function deploymentKeyOf(r: { bundle: string; cluster: string }): string {
  return `${r.bundle}\u0000${r.cluster}`;
}

/**
 * One report per deployment: the newest (the later one in the list on a tie, as it arrived
 * later), in the order each deployment first appears.
 */
export function newestPerDeployment<R extends KeyedReport>(reports: readonly R[]): R[] {
  const newest = new Map<string, R>();
  for (const r of reports) {
    const key = deploymentKeyOf(r);
    const seen = newest.get(key);
    if (seen === undefined || seen.observedAt.getTime() <= r.observedAt.getTime()) {
      newest.set(key, r);
    }
  }
  return [...newest.values()];
}

/**
 * How many of the oldest `waiting` messages (each the deployment keys of its reports) the next
 * write takes: as many as fit in `maxRows` reports (at least one, however large), stopping before
 * the first message about a deployment a write in progress holds (`busy`), so that writes running
 * at the same time never touch the same deployment and messages are written in the order they
 * came. 0 when the oldest message must wait for a write in progress.
 */
export function messagesForNextWrite(
  waiting: readonly { readonly keys: readonly string[] }[],
  maxRows: number,
  busy: ReadonlySet<string>,
): number {
  let n = 0;
  let rows = 0;
  while (n < waiting.length) {
    const { keys } = waiting[n]!;
    if (n > 0 && rows + keys.length > maxRows) break;
    if (keys.some((k) => busy.has(k))) break;
    rows += keys.length;
    n++;
  }
  return n;
}
