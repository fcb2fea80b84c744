import pg from 'pg';

/** Channels that migration 0012's triggers notify; the payload is a batch id, or '*' for "anything". */
export type ChangeChannel = 'simsift_batches' | 'simsift_api_keys';
const CHANNELS: readonly ChangeChannel[] = ['simsift_batches', 'simsift_api_keys'];

const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 10_000;

export interface ChangeFeedLogger {
  warn(details: object, message: string): void;
}

/**
 * What a read cache needs from the feed: change notices per channel, and a "reset" when notices may have been
 * missed (the connection dropped), after which nothing cached before can be trusted.
 */
export interface ChangeFeed {
  /** True while LISTEN is in force: only then may anything be cached. */
  isLive(): boolean;
  onChange(channel: ChangeChannel, handler: (payload: string) => void): void;
  onReset(handler: () => void): void;
}

/**
 * One dedicated Postgres connection that LISTENs for the change notifications of migration 0012. When the
 * connection drops, caches are reset and bypassed (isLive() is false) until it is back, so a lost notification
 * can never leave a stale entry behind; it reconnects with backoff.
 */
export class ChangeFeedRepository implements ChangeFeed {
  private client: pg.Client | null = null;
  private live = false;
  private closed = false;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly changeHandlers = new Map<ChangeChannel, Array<(payload: string) => void>>();
  private readonly resetHandlers: Array<() => void> = [];

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: ChangeFeedLogger,
  ) {}

  isLive(): boolean {
    return this.live;
  }

  onChange(channel: ChangeChannel, handler: (payload: string) => void): void {
    this.changeHandlers.set(channel, [...(this.changeHandlers.get(channel) ?? []), handler]);
  }

  onReset(handler: () => void): void {
    this.resetHandlers.push(handler);
  }

  /** Connects and listens; resolves either way (a failure schedules a retry and leaves caching off). */
  async start(): Promise<void> {
    if (this.closed || this.client) return;
    // TCP keepalive, so a connection that silently died (no reset from a partitioned network) is noticed.
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'simsift-change-feed',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    this.client = client;
    client.on('notification', (message) => {
      const handlers = this.changeHandlers.get(message.channel as ChangeChannel) ?? [];
      for (const handler of handlers) handler(message.payload ?? '*');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      for (const channel of CHANNELS) await client.query(`LISTEN ${channel}`);
      if (this.client !== client) return;
      // Whatever changed before LISTEN took effect was never announced: start from empty caches.
      this.reset();
      this.live = true;
      this.reconnectDelayMs = RECONNECT_MIN_MS;
    } catch (error) {
      this.lost(client, error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.live = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    this.live = false;
    this.reset();
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger.warn(
      { err: error, retryInMs: this.reconnectDelayMs },
      'change feed lost its Postgres connection; read caches are off until it is back',
    );
    this.reconnectTimer = setTimeout(() => void this.start(), this.reconnectDelayMs);
    this.reconnectTimer.unref();
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
  }

  private reset(): void {
    for (const handler of this.resetHandlers) handler();
  }
}
