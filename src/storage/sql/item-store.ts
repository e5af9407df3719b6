import { ConflictError } from '../../core/errors.js';
import type { Item, Page } from '../../core/model.js';
import type { ItemChanges, ItemStore } from '../../core/ports.js';
import type { SqlDriver } from './driver.js';
import { assignments, keysetPage, mapConflict } from './query.js';
import { ITEM_COLUMNS, toItem, type ItemRow } from './rows.js';

const conflict = () => new ConflictError('ERR_ITEM_CONFLICT', 'An item with that name exists.', 'name');

export class SqlItemStore implements ItemStore {
  constructor(private readonly db: SqlDriver) {}

  async create(i: Item): Promise<void> {
    await mapConflict(
      this.db.run(`INSERT INTO items (${ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [i.name, i.priceCents, i.description, i.ownerId, i.createdAt, i.updatedAt]),
      conflict,
    );
  }

  async findByName(name: string): Promise<Item | null> {
    const row = await this.db.get<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE name = ?`, [name]);
    return row ? toItem(row) : null;
  }

  async update(name: string, expectedOwnerId: string, changes: ItemChanges): Promise<Item | null> {
    const set = assignments(changes, { name: 'name', priceCents: 'price_cents', description: 'description', updatedAt: 'updated_at' });
    const [row] = await mapConflict(
      this.db.returning<ItemRow>(`UPDATE items SET ${set.sql} WHERE name = ? AND owner_id = ? RETURNING ${ITEM_COLUMNS}`, [...set.params, name, expectedOwnerId]),
      conflict,
    );
    return row ? toItem(row) : null;
  }

  async delete(name: string, expectedOwnerId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM items WHERE name = ? AND owner_id = ?', [name, expectedOwnerId])) > 0;
  }

  list(query: { limit: number; after?: string; ownerId?: string }): Promise<Page<Item>> {
    return keysetPage(this.db, {
      from: `SELECT ${ITEM_COLUMNS} FROM items`,
      conditions: [query.ownerId !== undefined && ['owner_id = ?', query.ownerId]],
      key: 'name',
      after: query.after,
      limit: query.limit,
      map: toItem,
      keyOf: (i) => i.name,
    });
  }
}
