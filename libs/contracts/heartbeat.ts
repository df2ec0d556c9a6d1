import type { Heartbeat } from './messages.js';

const MAX_INTERVAL_MS = 3_600_000;
const MAX_VERSION_LENGTH = 100;

/**
 * Length in code points, as zod's `max` counts it (a surrogate pair is one; a lone surrogate one).
 * Only the UTF-16 length is needed when it is within `max`.
 */
function withinMax(s: string, max: number): boolean {
  let n = s.length;
  if (n <= max) return true;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n <= max;
}

/**
 * A heartbeat as {@link HeartbeatSchema} reads it, without zod: the hub reads thousands a second
 * (one per cluster per interval), and this accepts and refuses exactly what the schema does
 * (see heartbeat.spec.ts). Unknown fields are dropped. undefined: not a heartbeat.
 */
export function readHeartbeat(value: unknown): Heartbeat | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { cluster, agentVersion, kubernetesVersion, intervalMs, sentAt } = v;
  if (typeof cluster !== 'string' || cluster.length < 1) return undefined;
  if (typeof agentVersion !== 'string' || !withinMax(agentVersion, MAX_VERSION_LENGTH))
    return undefined;
  if (typeof kubernetesVersion !== 'string' || !withinMax(kubernetesVersion, MAX_VERSION_LENGTH))
    return undefined;
  if (
    typeof intervalMs !== 'number' ||
    !Number.isSafeInteger(intervalMs) ||
    intervalMs <= 0 ||
    intervalMs > MAX_INTERVAL_MS
  )
    return undefined;
  if (typeof sentAt !== 'string') return undefined;
  return { cluster, agentVersion, kubernetesVersion, intervalMs, sentAt };
}
