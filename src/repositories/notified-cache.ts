import type { ChangeChannel, ChangeFeed } from './change-feed.repository.js';

export interface NotifiedCacheOptions {
  /** A backstop: no entry outlives this even if a notification were somehow missed. */
  ttlMs: number;
  /** Oldest entries are dropped beyond this. */
  maxEntries: number;
}

/** A load that was in flight when its key (or everything) was invalidated must not be stored. */
interface PendingLoad {
  stale: boolean;
}

/**
 * A read-through cache whose entries are dropped when the change feed says the rows behind them changed
 * (payload = the key, or '*' for all). It caches only while the feed is live, and never stores a value whose
 * load raced with an invalidation of the same key, so a reader sees committed changes as soon as their
 * notification arrives (milliseconds). Without a feed it is a pass-through.
 */
export class NotifiedCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private readonly pending = new Map<string, Set<PendingLoad>>();

  constructor(
    private readonly feed: ChangeFeed | null,
    channel: ChangeChannel,
    private readonly options: NotifiedCacheOptions,
    private readonly now: () => number = Date.now,
  ) {
    feed?.onChange(channel, (payload) => (payload === '*' ? this.invalidateAll() : this.invalidate(payload)));
    feed?.onReset(() => this.invalidateAll());
  }

  /** The cached value of `key`, or `load()`'s; null and undefined results are never cached. */
  async get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    if (!this.feed?.isLive()) return load();
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.expiresAt > this.now()) return hit.value;
      this.entries.delete(key);
    }
    const token: PendingLoad = { stale: false };
    const tokens = this.pending.get(key) ?? new Set<PendingLoad>();
    tokens.add(token);
    this.pending.set(key, tokens);
    try {
      const value = await load();
      if (value !== null && value !== undefined && !token.stale && this.feed.isLive()) this.store(key, value);
      return value;
    } finally {
      tokens.delete(token);
      if (tokens.size === 0 && this.pending.get(key) === tokens) this.pending.delete(key);
    }
  }

  invalidate(key: string): void {
    this.entries.delete(key);
    for (const token of this.pending.get(key) ?? []) token.stale = true;
  }

  invalidateAll(): void {
    this.entries.clear();
    for (const tokens of this.pending.values()) for (const token of tokens) token.stale = true;
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest stored.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.options.ttlMs });
  }
}
