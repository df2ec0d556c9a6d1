/** Anything that runs SQL: a DataSource, an EntityManager or a QueryRunner. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * The rows of an UPDATE/DELETE … RETURNING. TypeORM answers those with `[rows, affected]`
 * (and other statements with the rows), so callers should not unwrap it themselves.
 */
export async function queryReturning<T>(
  db: Queryable,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const result = (await db.query(sql, params)) as [T[], number] | T[];
  const first: unknown = result[0];
  return Array.isArray(first) ? (first as T[]) : (result as T[]);
}
