import type { SignedEnvelope } from './delivery.js';

/** Why a signed payload is refused, or undefined when its changes may be looked at. */
export function envelopeProblem(cluster: string, envelope: SignedEnvelope): string | undefined {
  return envelope.cluster === cluster
    ? undefined
    : `the payload is for cluster ${JSON.stringify(envelope.cluster.slice(0, 100))}, not ${cluster}`;
}

/**
 * The agent's side of replay protection: which desired states it may still apply, from the
 * per-cluster sequence numbers of the hub's signed payloads.
 *
 * A sync reply numbered S holds everything the hub sent with a lower number (the hub takes S
 * before it reads the desired state), so after it nothing numbered at or below S is applied: S
 * is the floor. Above the floor, a bundle's change is applied only when it is newer than the
 * newest change of that bundle already accepted. Until the first sync reply there is no floor,
 * so an agent applies nothing before it (it keeps what comes and looks at it afterwards).
 */
export class DesiredSequence {
  private floor = 0;
  private readonly newest = new Map<string, number>();
  private synced = false;

  /** Whether a sync reply was accepted yet (before that, desired states wait). */
  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * A desired-state message numbered `seq` with changes of `bundles` (in order): for each change,
   * whether to apply it. Accepted changes are remembered; all changes of one message are judged
   * against what was accepted before it.
   */
  acceptDesired(seq: number, bundles: readonly string[]): boolean[] {
    const verdicts = bundles.map((b) => seq > this.floor && seq > (this.newest.get(b) ?? 0));
    bundles.forEach((b, i) => {
      if (verdicts[i]) this.newest.set(b, seq);
    });
    return verdicts;
  }

  /**
   * A sync reply numbered `seq` with changes of `bundles`: undefined when it is not newer than a
   * sync reply accepted before (refused whole), else for each change whether to apply it (not
   * when a newer change of its bundle was accepted meanwhile). Raises the floor to `seq`.
   */
  acceptSync(seq: number, bundles: readonly string[]): boolean[] | undefined {
    if (this.synced && seq <= this.floor) return undefined;
    const verdicts = bundles.map((b) => seq > (this.newest.get(b) ?? 0));
    this.floor = seq;
    this.synced = true;
    for (const [b, n] of this.newest) if (n <= seq) this.newest.delete(b);
    return verdicts;
  }
}
