/**
 * The live-chat core with everything but the bus real: the ChatArbiter, the InboundFilter, the
 * pace. Platforms are test sources the test pushes messages through; the bus is an in-memory copy
 * of what bus-io.ts writes (feed events, the waiting list, answered ids, pushed inputs), kept apart
 * from the service so a second service can start on it as a restarted process would.
 */
import { pino } from 'pino';
import { newEventId } from '../../../src/shared/bus.js';
import { ConfigSchema, type Config, type ConfigInput } from '../../../src/shared/config.js';
import type { ChatConnectionStatus, ChatFeedEvent, LiveChatMessage, LiveChatMessageInput } from '../../../src/shared/live-chat.js';
import { LiveChatMessage as LiveChatMessageSchema } from '../../../src/shared/live-chat.js';
import type { TurnEvent, TurnState, UserInput } from '../../../src/shared/voice.js';
import { ChatArbiter } from '../../../src/workers/live-chat/arbiter.js';
import { InboundFilter } from '../../../src/workers/live-chat/moderation.js';
import { LiveChatService, type Commit, type LiveChatIo, type LiveChatOptions } from '../../../src/workers/live-chat/service.js';
import type { ChatSink, ChatSourceFactory } from '../../../src/workers/live-chat/source.js';

export const log = pino({ level: 'silent' });

/** What bus-io.ts would have written, and every commit as it came. */
export class MemoryBus {
  readonly commits: Commit[] = [];
  readonly feed: ChatFeedEvent[] = [];
  readonly inputs: UserInput[] = [];
  readonly answered = new Map<string, number>();
  /** CHAT_WAITING_KEY: id -> message, in the order written. */
  kept = new Map<string, LiveChatMessage>();
  get waiting(): LiveChatMessage[] {
    return [...this.kept.values()];
  }
  status: ChatConnectionStatus[] | undefined;
  /** The dialog engine's turn in flight per session (DIALOG_ACTIVE_KEY). */
  readonly activeTurns = new Map<string, string>();
  notice: string | undefined;

  /** The io of one service process; `kill()` cuts it off like kill -9 (nothing it does lands any more). */
  io(): LiveChatIo & { kill(): void } {
    let dead = false;
    return {
      log,
      kill: () => void (dead = true),
      commit: async (c) => {
        if (dead) return new Promise<void>(() => undefined);
        this.commits.push(c);
        if (c.answered) {
          for (const id of c.answered.forget) this.answered.delete(id);
          for (const id of c.answered.ids) this.answered.set(id, c.answered.at);
        }
        if (c.push) this.inputs.push(c.push);
        if (c.rewrite) this.kept = new Map(c.rewrite.map((m) => [m.id, m]));
        for (const m of c.keep ?? []) this.kept.set(m.id, m);
        for (const id of c.unkeep ?? []) this.kept.delete(id);
        this.feed.push(...c.feed);
      },
      saveStatus: async (s) => {
        if (!dead) this.status = s;
      },
      loadAnswered: async (since) => [...this.answered].filter(([, at]) => at >= since),
      loadWaiting: async () => [...this.waiting],
      loadActiveTurn: async (session) => this.activeTurns.get(session),
      notify: (t) => {
        if (!dead) this.notice = t;
      },
    };
  }

  /** The feed in short: `message:<text>:<priority|dropped reason>`, `picked:<reason>:<texts>`, `dropped:<text>:<reason>`. */
  story(): string[] {
    const byId = new Map<string, string>();
    return this.feed.flatMap((e) => {
      if (e.type === 'message') {
        byId.set(e.message.id, e.message.text);
        return [`message:${e.message.text}:${e.dropped ?? e.priority}`];
      }
      if (e.type === 'picked') return [`picked:${e.reason}:${e.ids.map((id) => byId.get(id)).join('+')}`];
      if (e.type === 'dropped') return [`dropped:${byId.get(e.id)}:${e.reason}`];
      return [];
    });
  }
}

export interface TestSource {
  sink: ChatSink;
  started: boolean;
  stopped: boolean;
  posts: string[];
}

/** Sources the test drives by hand, one per connection id; `post` only when `canPost`. */
export function testRegistry(canPost = false): { sources: Map<string, TestSource>; factory: ChatSourceFactory } {
  const sources = new Map<string, TestSource>();
  const factory: ChatSourceFactory = (conn, sink) => {
    const s: TestSource = { sink, started: false, stopped: false, posts: [] };
    sources.set(conn.id, s);
    return {
      start: async () => {
        s.started = true;
        sink.status('live', undefined, { can_post: canPost });
      },
      stop: async () => void (s.stopped = true),
      ...(canPost ? { post: async (t: string) => void s.posts.push(t) } : {}),
    };
  };
  return { sources, factory };
}

export function liveChatSettings(over: ConfigInput['liveChat'] = {}): Config['liveChat'] {
  return ConfigSchema.parse({
    dataDir: '/tmp',
    persona: { name: 'Aria' },
    liveChat: { connections: [{ id: 'tw', platform: 'twitch', channel: 'chan' }], session: 'live', ...over },
  }).liveChat;
}

export function makeService(bus: MemoryBus, settings: Config['liveChat'], factory: ChatSourceFactory, over: Partial<LiveChatOptions> = {}) {
  const io = bus.io();
  const arbiter = new ChatArbiter({ settings: settings.arbiter, personaName: 'Aria', log });
  const filter = new InboundFilter(settings.moderation, 'Aria');
  const service = new LiveChatService({ settings, arbiter, filter, registry: { twitch: factory, youtube: factory, bilibili: factory }, io, flushMs: 100, statusEveryMs: 2000, ...over });
  return { service, io, arbiter };
}

let seq = 0;
type MsgOver = Partial<Omit<LiveChatMessageInput, 'author'>> & { author?: Partial<LiveChatMessageInput['author']> };

/** A Twitch chat line from a fresh author unless `author` says otherwise. */
export function chat(text: string, over: MsgOver = {}): LiveChatMessage {
  const n = ++seq;
  return LiveChatMessageSchema.parse({
    id: `twitch:m${n}`,
    platform: 'twitch',
    connection: 'tw',
    channel: 'chan',
    text,
    received_at: Date.now(),
    ...over,
    author: { id: `u${n}`, name: `user${n}`, ...over.author },
  });
}

/** A turn event of `session` (default 'live'). */
export function turnEvent(kind: TurnEvent['kind'], extra: Record<string, unknown> = {}, session = 'live'): TurnEvent {
  const turnId = (extra.turn_id as string | undefined) ?? '-';
  return { session_id: session, turn_id: turnId, task_id: turnId, event_id: newEventId(), ts: Date.now(), marks: {}, kind, ...extra } as TurnEvent;
}
export const turnState = (state: TurnState, turnId = '-') => turnEvent('turn_state', { state, turn_id: turnId });

/** Plays the dialog engine for a pushed chat input: its turn runs, then ends. */
export function runTurn(service: LiveChatService, input: UserInput): void {
  service.onTurnEvent(turnState('thinking', input.turn_id));
  service.onTurnEvent(turnState('speaking', input.turn_id));
  service.onTurnEvent(turnEvent('turn_end', { turn_id: input.turn_id, reason: 'done' }));
  service.onTurnEvent(turnState('idle', input.turn_id));
}
