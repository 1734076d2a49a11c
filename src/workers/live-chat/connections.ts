/**
 * The configured connections of the live-chat service: one ChatSource per enabled entry of
 * `liveChat.connections`, made by the platform's factory, and the status of every entry (disabled
 * ones included, as 'stopped'), with its message and malformed counters.
 *
 * What the sources report goes to the service through `ConnectionEvents`; a source's callbacks
 * after `stop()` are ignored, whatever the connector does.
 */
import type { ChatConnection } from '../../shared/config.js';
import type { ChatConnectionState, ChatConnectionStatus, ChatPlatform, LiveChatMessage } from '../../shared/live-chat.js';
import type { Logger } from '../runtime/index.js';
import type { ChatSink, ChatSource, ChatSourceFactory } from './source.js';

/** The platform connectors; a platform missing here gets an error status instead of a source. */
export type ChatSourceRegistry = Partial<Record<ChatPlatform, ChatSourceFactory>>;

export interface ConnectionEvents {
  message(conn: ChatConnection, m: LiveChatMessage): void;
  /** A status changed (state, detail, retry, can_post): not on every counted message. */
  statusChanged(status: ChatConnectionStatus): void;
}

interface Entry {
  conn: ChatConnection;
  status: ChatConnectionStatus;
  source?: ChatSource;
  stopped: boolean;
}

export class Connections {
  private readonly entries: Entry[];

  constructor(
    connections: readonly ChatConnection[],
    private readonly registry: ChatSourceRegistry,
    private readonly events: ConnectionEvents,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    const seen = new Set<string>();
    this.entries = [];
    for (const conn of connections) {
      // The settings schema does not forbid two entries with one id; the second would be unreachable.
      if (seen.has(conn.id)) {
        log.warn({ connection: conn.id }, 'two live chat connections share this id; the second is ignored: give each its own id');
        continue;
      }
      seen.add(conn.id);
      this.entries.push({
        conn,
        stopped: false,
        status: {
          id: conn.id,
          platform: conn.platform,
          channel: conn.channel,
          state: conn.enabled ? 'connecting' : 'stopped',
          ...(conn.enabled ? {} : { detail: 'disabled in settings' }),
          since: now(),
          messages: 0,
          malformed: 0,
          can_post: false,
        },
      });
    }
  }

  get enabled(): number {
    return this.entries.filter((e) => e.conn.enabled).length;
  }

  statuses(): ChatConnectionStatus[] {
    return this.entries.map((e) => ({ ...e.status }));
  }

  /** Creates and starts a source per enabled connection; a failure is that connection's error status. */
  async start(): Promise<void> {
    await Promise.all(this.entries.filter((e) => e.conn.enabled).map((e) => this.startOne(e)));
  }

  private async startOne(e: Entry): Promise<void> {
    const factory = this.registry[e.conn.platform];
    if (!factory) {
      this.setState(e, 'error', `this build has no ${e.conn.platform} connector; disable the connection "${e.conn.id}" or update the app`);
      return;
    }
    const log = this.log.child({ connection: e.conn.id, platform: e.conn.platform });
    try {
      e.source = factory(e.conn, this.sink(e, log), { log, now: this.now });
      await e.source.start();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'the chat connection could not start');
      this.setState(e, 'error', `could not start: ${(err as Error).message}`);
    }
  }

  private sink(e: Entry, log: Logger): ChatSink {
    return {
      message: (m) => {
        if (e.stopped) return;
        e.status.messages++;
        this.events.message(e.conn, m);
      },
      status: (state, detail, extra) => {
        if (e.stopped) return;
        this.setState(e, state, detail, extra);
      },
      malformed: (what, sample) => {
        if (e.stopped) return;
        e.status.malformed++;
        log.warn({ what, sample: sample?.slice(0, 200), malformed: e.status.malformed }, 'malformed chat packet skipped');
      },
    };
  }

  private setState(e: Entry, state: ChatConnectionState, detail?: string, extra: { retry_in_ms?: number; can_post?: boolean } = {}): void {
    const s = e.status;
    const canPost = extra.can_post ?? (state === s.state ? s.can_post : state === 'live' ? s.can_post : false);
    if (s.state === state && s.detail === detail && s.retry_in_ms === extra.retry_in_ms && s.can_post === canPost) return;
    if (s.state !== state) s.since = this.now();
    s.state = state;
    s.can_post = canPost;
    if (detail === undefined) delete s.detail;
    else s.detail = detail;
    if (extra.retry_in_ms === undefined) delete s.retry_in_ms;
    else s.retry_in_ms = extra.retry_in_ms;
    const level = state === 'error' ? 'error' : state === 'reconnecting' ? 'warn' : 'info';
    this.log[level]({ connection: e.conn.id, state, detail, retry_in_ms: extra.retry_in_ms }, 'chat connection state');
    this.events.statusChanged({ ...s });
  }

  /** Whether replies can go to this connection now (its settings ask for it and the source can post). */
  canPost(id: string): boolean {
    const e = this.entries.find((x) => x.conn.id === id);
    return !!e && e.conn.postReplies && typeof e.source?.post === 'function';
  }

  async post(id: string, text: string): Promise<void> {
    const e = this.entries.find((x) => x.conn.id === id);
    if (!e?.source?.post) throw new Error(`connection ${id} cannot post`);
    await e.source.post(text);
  }

  /** One line for the user while a connection is in error, else undefined. */
  errorSummary(): string | undefined {
    const bad = this.entries.filter((e) => e.status.state === 'error');
    if (bad.length === 0) return undefined;
    return `live chat: ${bad.map((e) => `${e.conn.id} (${e.conn.platform}) ${e.status.detail ?? 'failed'}`).join('; ')}`;
  }

  /** Stops every source; statuses become 'stopped'. */
  async stop(): Promise<void> {
    await Promise.all(
      this.entries.map(async (e) => {
        const source = e.source;
        e.source = undefined;
        try {
          await source?.stop();
        } catch (err) {
          this.log.warn({ connection: e.conn.id, err: (err as Error).message }, 'the chat connection did not stop cleanly');
        }
        if (e.conn.enabled) this.setState(e, 'stopped', 'the live-chat service stopped');
        e.stopped = true;
      }),
    );
  }
}
