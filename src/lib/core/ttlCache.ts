import type { Clock } from './clock.js';

interface Entry<V> {
  value: V;
  storedAt: number;
}

/**
 * A small in-memory cache for serverless instances: entries are fresh for `ttlMs`; concurrent misses
 * for one key share one load; and when a load fails, a stale entry is served instead (stale-if-error),
 * so that a Key Vault or Tables blip does not turn into failed webhooks.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private readonly loading = new Map<K, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && this.clock.now() - entry.storedAt < this.ttlMs) return entry.value;
    const running = this.loading.get(key);
    if (running) return running;
    const promise = load()
      .then((value) => {
        this.set(key, value);
        return value;
      })
      .catch((error: unknown) => {
        if (entry) return entry.value;
        throw error;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, promise);
    return promise;
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: this.clock.now() });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
