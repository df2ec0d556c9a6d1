// Durations as people write them in fleet.yaml, the API, the CLI and the environment: Go's
// `time.ParseDuration` units (`500ms`, `60s`, `10m`, `1h30m`), plus a bare number of milliseconds
// (`0` turns polling off).

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$|^\d+(?:\.\d+)?$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)?/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** The message for a malformed duration, the same wherever one is read. */
export const DURATION_FORMAT = 'must be a duration like "500ms", "60s", "10m" or "1h30m"';

/** Whether `text` is a duration `parseDuration` accepts. */
export function isDuration(text: string): boolean {
  return DURATION.test(text.trim());
}

/** Milliseconds of a duration (`500ms`, `60s`, `1h30m`, `0`); throws a readable error when malformed. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: ${DURATION_FORMAT}`);
  }
  let total = 0;
  for (const [, value, unit] of trimmed.matchAll(PART)) {
    total += Number(value) * (UNIT_MS[unit ?? 'ms'] ?? 1);
  }
  return Math.round(total);
}
