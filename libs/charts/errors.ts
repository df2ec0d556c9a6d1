/**
 * A chart could not be fetched: unreachable or refusing repository, no version matching,
 * digest mismatch, a limit exceeded, a refused URL. The message says which, without secrets
 * and without a tool's raw output.
 */
export class ChartFetchError extends Error {
  override readonly name = 'ChartFetchError';
}
