import { DataSource } from 'typeorm';
import { entities } from './entities/index.js';
import { migrations } from './migrations/index.js';

/** A TypeORM data source for the hub's schema. Never `synchronize`: the schema is migrations. */
export function createDataSource(
  url: string,
  options: { poolSize?: number; applicationName?: string } = {},
): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'all',
    poolSize: options.poolSize ?? 10,
    // What pg_stat_activity shows for its connections (the api service's pool is told apart).
    applicationName: options.applicationName ?? 'flotilla-hub',
    logging: false,
  });
}

/** Advisory lock key under which migrations run, so replicas starting together take turns. */
const MIGRATION_LOCK = 0x666c6f74; // "flot"

/** Applies pending migrations, one replica at a time. Returns the names of those applied. */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Creates, connects and migrates a data source. */
export async function openDatabase(
  url: string,
  options: { poolSize?: number; applicationName?: string } = {},
): Promise<DataSource> {
  const ds = createDataSource(url, options);
  await ds.initialize();
  try {
    await migrate(ds);
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  return ds;
}

/** Resolves once PostgreSQL answers a query on the data source (what readiness checks). */
export async function pingDatabase(dataSource: DataSource): Promise<void> {
  await dataSource.query('SELECT 1');
}
