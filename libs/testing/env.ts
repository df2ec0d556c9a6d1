/** PostgreSQL server used by tests: DATABASE_URL when set, else the local default. */
export function adminDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** NATS server used by tests: NATS_URL when set, else the local default. */
export function testNatsUrl(): string {
  return process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
}
