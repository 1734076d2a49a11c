/**
 * What a platform connector is to the live-chat service: one configured connection (a Twitch
 * channel, a YouTube stream, a Bilibili room) that turns the platform's protocol into
 * `LiveChatMessage`s and reports its state. The service owns one per enabled connection and knows
 * nothing of the protocols (platforms/*.ts do).
 *
 * A connector:
 *   - calls `sink.message` for every chat line, paid message, gift, sub or membership, with a stable
 *     `id` (`<platform>:<the platform's id>`; built from the packet's content where the platform
 *     gives none), so that a message seen twice (a replay after a reconnect) is recognised;
 *   - calls `sink.status` on every state change (connecting, live, reconnecting with `retry_in_ms`,
 *     ended, error with a `detail` that names the fix, stopped);
 *   - calls `sink.malformed` for a packet it cannot read, and goes on with the next one: a bad
 *     packet never ends the connection or the process;
 *   - reconnects by itself with back-off (capped) after a drop, until `stop()`;
 *   - never throws out of its callbacks (errors become statuses).
 */
import type { ChatConnection } from '../../shared/config.js';
import type { ChatConnectionState, LiveChatMessage } from '../../shared/live-chat.js';
import type { Logger } from '../runtime/index.js';

export interface ChatSink {
  message(m: LiveChatMessage): void;
  status(state: ChatConnectionState, detail?: string, extra?: { retry_in_ms?: number; can_post?: boolean }): void;
  /** A packet that could not be read: `what` says what was wrong; the connector skips it. */
  malformed(what: string, sample?: string): void;
}

export interface ChatSource {
  /** Starts connecting; resolves once the first attempt is under way (not when it is live). */
  start(): Promise<void>;
  /** Closes the connection and every timer; no sink call after it resolves. */
  stop(): Promise<void>;
  /** Posts a line into the chat, where the connection can (`can_post`); rejects with the reason otherwise. */
  post?(text: string): Promise<void>;
}

export interface ChatSourceDeps {
  log: Logger;
  /** Clock for `received_at` and back-off (tests inject one). */
  now?: () => number;
  /** HTTP for platforms that poll or look up a room (tests may inject one; default global fetch). */
  fetch?: typeof fetch;
}

export type ChatSourceFactory = (conn: ChatConnection, sink: ChatSink, deps: ChatSourceDeps) => ChatSource;

/** Back-off between reconnects: 1 s doubling to 30 s, with ±20 % jitter so many clients do not retry together. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}
