import type { DataSource } from 'typeorm';

/** Hub-wide settings: created once (the first replica wins), then the same for every replica. */
export class HubSettingsRepository {
  constructor(private readonly ds: DataSource) {}

  /** The setting's value, creating it with `make()` when absent. */
  async ensure(key: string, make: () => string): Promise<string> {
    await this.ds.query(
      'INSERT INTO hub_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
      [key, make()],
    );
    const rows: { value: string }[] = await this.ds.query(
      'SELECT value FROM hub_settings WHERE key = $1',
      [key],
    );
    return rows[0]!.value;
  }
}
