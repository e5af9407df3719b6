import type { SettingStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';

export class SqlSettingStore implements SettingStore {
  constructor(private readonly db: SqlDriver) {}

  async getOrCreate(name: string, value: string): Promise<string> {
    // The no-op update makes RETURNING answer with the stored value when the row was there first:
    // one statement, so two instances starting together agree on the value.
    const [row] = await this.db.returning<{ value: string }>(
      'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = settings.value RETURNING value',
      [name, value],
    );
    return row!.value;
  }
}
