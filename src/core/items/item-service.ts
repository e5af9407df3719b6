import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import type { Item, Page, User } from '../model.js';
import { FreshCache } from '../fresh-cache.js';
import { thenOrNow, type NowOrLater } from '../now-or-later.js';
import type { Clock, ItemChanges, ItemStore } from '../ports.js';

export interface ItemInput {
  price: number;
  description?: string | null;
}

export const MAX_PRICE = 1_000_000_000_000;

/**
 * Prices arrive as JSON numbers and are kept as whole cents, so 19.99 stays 19.99. A number with
 * more than two decimals is refused rather than rounded: silently changing money is worse.
 */
export function priceToCents(price: number, field = 'price'): number {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(price));
  if (!match || price > MAX_PRICE) throw ValidationError.field(field, 'must be a non-negative amount with at most two decimals');
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

export function centsToPrice(cents: number): number {
  return cents / 100;
}

function normalizeName(name: string): string {
  return name.normalize('NFC');
}

/** The item a lookup found; a 404 when there is none. */
function found(item: Item | null): Item {
  if (!item) throw new NotFoundError('ERR_ITEM_NOT_FOUND');
  return item;
}

/** The sample protected resource: any signed-in user reads, owners and admins write. */
export class ItemService {
  private readonly cache: FreshCache<Item>;
  private readonly findByName = (name: string) => this.items.findByName(name);

  constructor(
    private readonly items: ItemStore,
    private readonly clock: Clock,
    options: { cacheTtlMs?: number; onItemsChanged?: (names: string[]) => void } = {},
  ) {
    this.cache = new FreshCache(clock, options.cacheTtlMs ?? 0, 10_000);
    this.onItemsChanged = options.onItemsChanged ?? (() => {});
  }

  private readonly onItemsChanged: (names: string[]) => void;

  /** Drops what is remembered of items changed elsewhere (told by the invalidation bus). */
  forget(names: readonly string[]): void {
    this.cache.forget(names);
  }

  /** A user's items went with them (ON DELETE CASCADE), or changed hands in storage. */
  forgetOwner(userId: string): void {
    this.cache.forgetWhere((item) => item.ownerId === userId);
  }

  private changed(...names: string[]): void {
    this.cache.forget(names);
    this.onItemsChanged(names);
  }

  async create(actor: User, input: ItemInput & { name: string }): Promise<Item> {
    const now = this.clock.now();
    const item: Item = {
      name: normalizeName(input.name),
      priceCents: priceToCents(input.price),
      description: input.description ?? null,
      ownerId: actor.id,
      createdAt: now,
      updatedAt: now,
    };
    // Nothing to forget: a cache never remembers that a name is free.
    await this.items.create(item);
    return item;
  }

  /** An item to show: from memory when read recently (see FreshCache for the staleness bound). */
  get(name: string): NowOrLater<Item> {
    return thenOrNow(this.cache.get(normalizeName(name), this.findByName), found);
  }

  list(query: { limit: number; after?: string; ownerId?: string }): Promise<Page<Item>> {
    return this.items.list(query);
  }

  /** Creates the item (anyone may) or replaces it (owner or admin only). */
  async put(actor: User, name: string, input: ItemInput): Promise<{ item: Item; created: boolean }> {
    const existing = await this.items.findByName(normalizeName(name));
    if (!existing) {
      try {
        return { item: await this.create(actor, { ...input, name }), created: true };
      } catch (error) {
        // Someone created it between our read and our write; treat it as a replace of theirs.
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    const item = await this.update(actor, name, { priceCents: priceToCents(input.price), description: input.description ?? null });
    return { item, created: false };
  }

  async patch(actor: User, name: string, input: { name?: string; price?: number; description?: string | null }): Promise<Item> {
    const changes: Omit<ItemChanges, 'updatedAt'> = {};
    if (input.name !== undefined) changes.name = normalizeName(input.name);
    if (input.price !== undefined) changes.priceCents = priceToCents(input.price);
    if (input.description !== undefined) changes.description = input.description;
    return this.update(actor, name, changes);
  }

  async delete(actor: User, name: string): Promise<void> {
    const item = await this.writable(actor, name);
    const deleted = await this.items.delete(item.name, item.ownerId);
    this.changed(item.name);
    if (!deleted) throw new NotFoundError('ERR_ITEM_NOT_FOUND');
  }

  private async update(actor: User, name: string, changes: Omit<ItemChanges, 'updatedAt'>): Promise<Item> {
    const item = await this.writable(actor, name);
    // The write is conditional on the owner we checked, so a concurrent change of hands cannot slip through.
    const updated = await this.items.update(item.name, item.ownerId, { ...changes, updatedAt: this.clock.now() });
    // A rename changes two names: the old one is gone, the new one exists.
    this.changed(item.name, ...(updated && updated.name !== item.name ? [updated.name] : []));
    if (!updated) throw new NotFoundError('ERR_ITEM_NOT_FOUND');
    return updated;
  }

  /** AC-02: only the owner or an admin may change an item. Read from storage, never from memory. */
  private async writable(actor: User, name: string): Promise<Item> {
    const item = await this.items.findByName(normalizeName(name));
    if (!item) throw new NotFoundError('ERR_ITEM_NOT_FOUND');
    if (item.ownerId !== actor.id && actor.role !== 'admin') throw new ForbiddenError('Only the owner or an admin may change this item.');
    return item;
  }
}
