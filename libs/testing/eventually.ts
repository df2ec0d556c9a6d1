/**
 * Waits until `probe` returns a value that `predicate` accepts, polling every `intervalMs`.
 * Fails with the description and the last value seen — never a bare sleep in tests.
 */
export async function eventually<T>(
  description: string,
  probe: () => Promise<T> | T,
  predicate: (value: T) => boolean,
  { timeoutMs = 60_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (predicate(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen =
        lastError instanceof Error
          ? lastError.message
          : lastError !== undefined
            ? JSON.stringify(lastError)
            : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; last: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
