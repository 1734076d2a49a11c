import { describe, expect, it } from 'vitest';
import { ChatFeedBuffer } from './chat-api.js';
import { LiveChatMessage } from './live-chat.js';

const msg = (n: number) =>
  LiveChatMessage.parse({ id: `twitch:${n}`, platform: 'twitch', connection: 'tw', channel: 'c', author: { id: `u${n}`, name: `n${n}` }, text: `t${n}`, received_at: n });

describe('ChatFeedBuffer', () => {
  it('merges later fates into the message, as new objects, leaving the others as they were', () => {
    const b = new ChatFeedBuffer(10);
    b.apply({ type: 'message', message: msg(1) });
    b.apply({ type: 'message', message: msg(2) });
    const [first, second] = b.list();
    expect(b.apply({ type: 'picked', ids: ['twitch:1'], reason: 'question', turn_id: 't' })).toBe(true);
    expect(b.get('twitch:1')).toMatchObject({ fate: 'picked', picked: { reason: 'question', turn_id: 't' } });
    expect(b.get('twitch:1')).not.toBe(first);
    expect(b.get('twitch:2')).toBe(second);
    // A picked message is not dropped afterwards; an unknown id changes nothing.
    expect(b.apply({ type: 'dropped', id: 'twitch:1', reason: 'aged_out' })).toBe(false);
    expect(b.apply({ type: 'dropped', id: 'twitch:9', reason: 'aged_out' })).toBe(false);
    expect(b.list().map((e) => e.message.id)).toEqual(['twitch:1', 'twitch:2']);
  });

  it('keeps the fate of a message replayed by a restarted service, and holds at most its capacity', () => {
    const b = new ChatFeedBuffer(3);
    b.apply({ type: 'message', message: msg(1) });
    b.apply({ type: 'dropped', id: 'twitch:1', reason: 'spam' });
    expect(b.apply({ type: 'message', message: msg(1) })).toBe(false);
    expect(b.get('twitch:1')).toMatchObject({ fate: 'dropped', dropped: 'spam' });
    for (const n of [2, 3, 4]) b.apply({ type: 'message', message: msg(n) });
    expect(b.list().map((e) => e.message.id)).toEqual(['twitch:2', 'twitch:3', 'twitch:4']);
    expect(b.size).toBe(3);
  });

  it('loads a snapshot, the newest up to its capacity', () => {
    const a = new ChatFeedBuffer(5);
    for (const n of [1, 2, 3, 4]) a.apply({ type: 'message', message: msg(n) });
    const b = new ChatFeedBuffer(2);
    b.load(a.snapshot());
    expect(b.list().map((e) => e.message.id)).toEqual(['twitch:3', 'twitch:4']);
  });
});
