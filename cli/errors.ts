/**
 * The one-line message the CLI prints for a failed command (after `error: `): the error's own
 * message, flattened to one line, without a stack trace.
 */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.replace(/\s*\n\s*/g, ' ').trim();
  return line === '' ? 'unknown error' : line;
}
