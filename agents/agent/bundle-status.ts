import type { ResourceStatus } from '../../libs/contracts/index.js';
import { describeRef } from '../../libs/manifests/index.js';
import type { BundleStatus } from './cluster-driver.js';

/** At most this many resources are named in a bundle's message. */
const MESSAGE_RESOURCES = 5;

/**
 * A bundle's state from its resources, worst first: ErrApplied (the apply failed or a resource
 * failed), Modified (drift), NotReady (not ready or missing), else Ready. The message names the
 * resources that make it so.
 */
export function rollUpBundleStatus(
  revision: string,
  resources: ResourceStatus[],
  { applyError, readyMessage = '' }: { applyError?: string; readyMessage?: string } = {},
): BundleStatus {
  const named = (states: ResourceStatus['state'][]): string[] =>
    resources.filter((r) => states.includes(r.state)).map((r) => `${describeRef(r)}: ${r.message}`);
  if (applyError !== undefined)
    return { revision, state: 'ErrApplied', message: applyError, resources };
  const rules: [BundleStatus['state'], ResourceStatus['state'][]][] = [
    ['ErrApplied', ['Failed']],
    ['Modified', ['Modified']],
    ['NotReady', ['NotReady', 'Missing']],
  ];
  for (const [state, states] of rules) {
    const found = named(states);
    if (found.length > 0) return { revision, state, message: listMessages(found), resources };
  }
  return { revision, state: 'Ready', message: readyMessage, resources };
}

/** Names up to five resources, then how many more. */
export function listMessages(messages: string[]): string {
  const shown = messages.slice(0, MESSAGE_RESOURCES);
  const rest = messages.length - shown.length;
  return rest > 0 ? `${shown.join('; ')}; and ${rest} more` : shown.join('; ');
}
