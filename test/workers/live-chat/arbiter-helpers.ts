/**
 * Shared bits of the arbiter tests: default settings with overrides, a fake clock, and a message
 * builder with unique ids and authors.
 */
import { ConfigSchema, type Config } from '../../../src/shared/config.js';
import type { LiveChatMessage, LiveChatMessageInput } from '../../../src/shared/live-chat.js';
import { LiveChatMessage as LiveChatMessageSchema } from '../../../src/shared/live-chat.js';

export type ArbiterSettings = Config['liveChat']['arbiter'];

export function settings(over: Partial<Omit<ArbiterSettings, 'llmPick'>> & { llmPick?: Partial<ArbiterSettings['llmPick']> } = {}): ArbiterSettings {
  const base = ConfigSchema.parse({ dataDir: '/tmp' }).liveChat.arbiter;
  return { ...base, ...over, llmPick: { ...base.llmPick, ...over.llmPick } };
}

export class FakeClock {
  t = 1_000_000;
  readonly now = () => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

let seq = 0;
type MsgOver = Partial<Omit<LiveChatMessageInput, 'author'>> & { author?: Partial<LiveChatMessageInput['author']> };

/** A chat line from a fresh author (unless `author` says otherwise), received at `clock`'s now. */
export function msg(clock: FakeClock, text: string, over: MsgOver = {}): LiveChatMessage {
  const n = ++seq;
  return LiveChatMessageSchema.parse({
    id: `twitch:m${n}`,
    platform: 'twitch',
    connection: 'c1',
    channel: 'chan',
    text,
    received_at: clock.t,
    ...over,
    author: { id: `u${n}`, name: `user${n}`, ...over.author },
  });
}
