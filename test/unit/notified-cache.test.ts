import { describe, expect, it } from 'vitest';
import type { ChangeChannel, ChangeFeed } from '../../src/repositories/change-feed.repository.js';
import { NotifiedCache } from '../../src/repositories/notified-cache.js';

/** A change feed the test drives by hand. */
class FakeFeed implements ChangeFeed {
  live = true;
  private readonly changes: Array<(payload: string) => void> = [];
  private readonly resets: Array<() => void> = [];
  isLive() {
    return this.live;
  }
  onChange(_channel: ChangeChannel, handler: (payload: string) => void) {
    this.changes.push(handler);
  }
  onReset(handler: () => void) {
    this.resets.push(handler);
  }
  notify(payload: string) {
    for (const handler of this.changes) handler(payload);
  }
  reset() {
    for (const handler of this.resets) handler();
  }
}

/** A loader that counts its calls and returns `value` (or what `next` says). */
function counter(value: string | null) {
  const loader = { calls: 0, next: value, load: async () => (loader.calls++, loader.next) };
  return loader;
}

const OPTIONS = { ttlMs: 1_000, maxEntries: 3 };

describe('NotifiedCache', () => {
  it('serves a second read from memory while the feed is live, and reloads after its key is notified', async () => {
    const feed = new FakeFeed();
    const cache = new NotifiedCache<string>(feed, 'simsift_batches', OPTIONS);
    const source = counter('v1');
    expect(await cache.get('a', source.load)).toBe('v1');
    expect(await cache.get('a', source.load)).toBe('v1');
    expect(source.calls).toBe(1);
    source.next = 'v2';
    feed.notify('b');
    expect(await cache.get('a', source.load)).toBe('v1');
    feed.notify('a');
    expect(await cache.get('a', source.load)).toBe('v2');
    expect(source.calls).toBe(2);
  });

  it("drops everything on '*' and on a feed reset", async () => {
    const feed = new FakeFeed();
    const cache = new NotifiedCache<string>(feed, 'simsift_api_keys', OPTIONS);
    const source = counter('v');
    await cache.get('a', source.load);
    await cache.get('b', source.load);
    feed.notify('*');
    expect(cache.size).toBe(0);
    await cache.get('a', source.load);
    feed.reset();
    expect(cache.size).toBe(0);
    expect(source.calls).toBe(3);
  });

  it('passes every read through while the feed is down, and without a feed', async () => {
    const feed = new FakeFeed();
    feed.live = false;
    const down = new NotifiedCache<string>(feed, 'simsift_batches', OPTIONS);
    const none = new NotifiedCache<string>(null, 'simsift_batches', OPTIONS);
    const source = counter('v');
    for (const cache of [down, down, none, none]) await cache.get('a', source.load);
    expect(source.calls).toBe(4);
    expect(down.size + none.size).toBe(0);
  });

  it('does not store a value whose load raced with an invalidation of its key', async () => {
    const feed = new FakeFeed();
    const cache = new NotifiedCache<string>(feed, 'simsift_batches', OPTIONS);
    let release!: (value: string) => void;
    const slow = cache.get('a', () => new Promise<string>((resolve) => (release = resolve)));
    // The row changed after the query read it but before the answer came back: the old value is stale.
    feed.notify('a');
    release('old');
    expect(await slow).toBe('old');
    const source = counter('new');
    expect(await cache.get('a', source.load)).toBe('new');
    expect(source.calls).toBe(1);
  });

  it('does not store a value whose load raced with a reset', async () => {
    const feed = new FakeFeed();
    const cache = new NotifiedCache<string>(feed, 'simsift_batches', OPTIONS);
    let release!: (value: string) => void;
    const slow = cache.get('a', () => new Promise<string>((resolve) => (release = resolve)));
    feed.reset();
    release('old');
    await slow;
    expect(cache.size).toBe(0);
  });

  it('never caches a miss, expires entries after the TTL and keeps at most maxEntries', async () => {
    let now = 0;
    const feed = new FakeFeed();
    const cache = new NotifiedCache<string>(feed, 'simsift_batches', OPTIONS, () => now);
    const missing = counter(null);
    await cache.get('gone', missing.load);
    await cache.get('gone', missing.load);
    expect(missing.calls).toBe(2);

    const source = counter('v');
    await cache.get('a', source.load);
    now = 999;
    await cache.get('a', source.load);
    expect(source.calls).toBe(1);
    now = 1_000;
    await cache.get('a', source.load);
    expect(source.calls).toBe(2);

    for (const key of ['b', 'c', 'd']) await cache.get(key, source.load);
    expect(cache.size).toBe(3);
    // 'a' was stored first, so it went first.
    await cache.get('a', source.load);
    expect(source.calls).toBe(6);
  });
});
