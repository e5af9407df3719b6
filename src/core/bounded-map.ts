/**
 * A Map that holds at most `limit` entries: adding a new key to a full one drops the oldest entry
 * first. For the in-memory indexes and caches that must not grow with traffic.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}
