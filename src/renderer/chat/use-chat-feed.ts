/**
 * The chat panel's live feed: the gateway's feed WebSocket (ChatPaths.feed) into a ChatFeedBuffer,
 * the same merge the gateway does, so a message's fate reads the same on both sides. The page shows
 * the newest `shown` entries only (a bounded DOM however long the stream runs); updates are batched
 * to one per animation frame. A lost socket reconnects with back-off and starts again from the
 * gateway's snapshot.
 */
import { onBeforeUnmount, ref, shallowRef, type Ref, type ShallowRef } from 'vue';
import { ChatFeedBuffer, ChatFeedFrame, ChatPaths, type ChatFeedEntry } from '../../shared/chat-api.js';
import type { ChatConnectionStatus } from '../../shared/live-chat.js';
import { getToken } from '../voice/token.js';

export type FeedState = 'connecting' | 'live' | 'retrying' | 'no_token';

export interface ChatFeedView {
  /** Newest first, at most `shown`. */
  entries: ShallowRef<ChatFeedEntry[]>;
  connections: ShallowRef<ChatConnectionStatus[]>;
  state: Ref<FeedState>;
  /** Entries held beyond those shown. */
  hidden: Ref<number>;
  /** Closes the socket (also done when the component unmounts). */
  close(): void;
}

export function useChatFeed(shown = 200): ChatFeedView {
  const buffer = new ChatFeedBuffer();
  const entries = shallowRef<ChatFeedEntry[]>([]);
  const connections = shallowRef<ChatConnectionStatus[]>([]);
  const state = ref<FeedState>('connecting');
  const hidden = ref(0);
  let socket: WebSocket | undefined;
  let closed = false;
  let retries = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let frame = 0;

  function render(): void {
    frame = 0;
    const all = buffer.list();
    entries.value = all.slice(-shown).reverse();
    hidden.value = Math.max(0, all.length - shown);
    connections.value = buffer.connections;
  }
  function scheduleRender(): void {
    if (frame === 0) frame = requestAnimationFrame(render);
  }

  function onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let parsed: ReturnType<typeof ChatFeedFrame.safeParse>;
    try {
      parsed = ChatFeedFrame.safeParse(JSON.parse(data));
    } catch {
      return;
    }
    if (!parsed.success) return; // a newer core's event this page does not know
    const f = parsed.data;
    if (f.type === 'snapshot') buffer.load(f);
    else buffer.apply(f);
    scheduleRender();
  }

  async function open(): Promise<void> {
    const token = await getToken();
    if (closed) return;
    if (!token) {
      state.value = 'no_token';
      return;
    }
    const url = new URL(ChatPaths.feed, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    const ws = new WebSocket(url.toString());
    socket = ws;
    ws.onmessage = (e) => {
      retries = 0;
      state.value = 'live';
      onFrame(e.data);
    };
    ws.onclose = () => {
      if (closed || socket !== ws) return;
      state.value = 'retrying';
      const delay = Math.min(10_000, 500 * 2 ** retries++);
      retryTimer = setTimeout(() => void open(), delay);
    };
  }

  function close(): void {
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    if (frame) cancelAnimationFrame(frame);
    socket?.close();
  }

  void open();
  onBeforeUnmount(close);
  return { entries, connections, state, hidden, close };
}
