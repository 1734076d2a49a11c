/**
 * The gateway's side of live chat on the bus: one subscriber to fav:chat:feed that keeps the recent
 * feed (ChatFeedBuffer) and hands each event to the open chat panels, one connection that publishes
 * the panel's commands and reads the connection statuses live-chat stores (CHAT_STATUS_KEY) for
 * /health. A malformed feed event is logged and skipped; the feed goes on.
 */
import type { Redis } from 'ioredis';
import { ChatFeedBuffer, type ChatSnapshot } from '../../shared/chat-api.js';
import { CHAT_STATUS_KEY, ChatChannels, ChatConnectionStatus, ChatFeedEvent, type ChatCommand } from '../../shared/live-chat.js';
import { connectCoreBus, createCoreBusClient } from '../bus-client.js';

export interface ChatFeedOptions {
  busUrl: string;
  /** Messages kept for the panel (default 500). */
  capacity?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

type Listener = (event: ChatFeedEvent) => void;

const StatusList = ChatConnectionStatus.array();

export class ChatFeed {
  readonly buffer: ChatFeedBuffer;
  private readonly listeners = new Set<Listener>();
  private readonly sub: Redis;
  private readonly pub: Redis;
  private ready: Promise<void> | undefined;
  private malformedLogged = 0;

  constructor(private readonly o: ChatFeedOptions) {
    this.buffer = new ChatFeedBuffer(o.capacity);
    this.sub = createCoreBusClient(o.busUrl, { role: 'gateway-chat-feed' });
    this.pub = createCoreBusClient(o.busUrl, { role: 'gateway-chat' });
    this.sub.on('message', (channel: string, raw: string) => {
      if (channel === ChatChannels.feed) this.onEvent(raw);
    });
  }

  /** Connects and subscribes; resolves once feed events are being received. */
  start(): Promise<void> {
    this.ready ??= (async () => {
      // After a failed first try ioredis keeps reconnecting on its own: connect only what never opened.
      const open = (r: Redis) => (r.status === 'wait' || r.status === 'end' ? connectCoreBus(r) : Promise.resolve());
      await Promise.all([open(this.sub), open(this.pub)]);
      await this.sub.subscribe(ChatChannels.feed);
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  private onEvent(raw: string): void {
    let parsed: ReturnType<typeof ChatFeedEvent.safeParse>;
    try {
      parsed = ChatFeedEvent.safeParse(JSON.parse(raw));
    } catch (err) {
      this.malformed(`not JSON (${(err as Error).message})`);
      return;
    }
    if (!parsed.success) {
      this.malformed(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return;
    }
    this.buffer.apply(parsed.data);
    for (const l of this.listeners) l(parsed.data);
  }

  private malformed(why: string): void {
    // One line per bad event would flood the log if a publisher went wrong: the first few say enough.
    if (this.malformedLogged++ < 10) this.o.log?.('warn', `chat feed: skipped a malformed event on ${ChatChannels.feed}: ${why}`);
  }

  /** Each valid feed event, after the buffer took it. Returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Publishes a command; resolves to the number of live-chat services that received it. */
  async command(cmd: ChatCommand): Promise<number> {
    await this.start();
    return this.pub.publish(ChatChannels.command, JSON.stringify(cmd));
  }

  /**
   * The buffer's snapshot for a page. Statuses come with the feed's `status` events; until one has
   * come (live-chat started before the gateway subscribed, or nothing changed since), they are read
   * from the key live-chat keeps them at.
   */
  async snapshot(): Promise<ChatSnapshot> {
    await this.start().catch(() => {});
    if (this.buffer.connections.length === 0) {
      const stored = await this.statuses();
      if (stored.length > 0 && this.buffer.connections.length === 0) this.buffer.connections = stored;
    }
    return this.buffer.snapshot();
  }

  /**
   * Whether a live-chat service runs: it keeps CHAT_STATUS_KEY alive (PX, refreshed while it runs,
   * connections or not). Not the subscriber count of fav:chat:command: chat-ai listens there too.
   */
  async running(): Promise<boolean> {
    await this.start();
    return (await this.pub.exists(CHAT_STATUS_KEY)) > 0;
  }

  /**
   * The statuses live-chat last stored: [] when the key is absent or expired (the service is not
   * running), unreadable, or the bus does not answer within `timeoutMs` (/health must answer anyway).
   */
  async statuses(timeoutMs = 1000): Promise<ChatConnectionStatus[]> {
    let timer: NodeJS.Timeout | undefined;
    const read = async (): Promise<ChatConnectionStatus[]> => {
      await this.start();
      const raw = await this.pub.get(CHAT_STATUS_KEY);
      if (!raw) return [];
      const parsed = StatusList.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : [];
    };
    try {
      return await Promise.race([read(), new Promise<ChatConnectionStatus[]>((resolve) => (timer = setTimeout(resolve, timeoutMs, [])))]);
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
