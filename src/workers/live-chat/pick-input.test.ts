/** A pick as the user input the dialog engine gets. */
import { describe, expect, it } from 'vitest';
import { UserInput } from '../../shared/voice.js';
import { LiveChatMessage, type LiveChatMessageInput } from '../../shared/live-chat.js';
import { inputText, pickInput, thanksLine } from './pick-input.js';

const msg = (id: string, over: Partial<LiveChatMessageInput> = {}): LiveChatMessage =>
  LiveChatMessage.parse({
    id: `twitch:${id}`,
    platform: 'twitch',
    connection: 'tw',
    channel: 'chan',
    author: { id: `u-${id}`, name: `User${id}` },
    text: `hello ${id}`,
    received_at: 1000,
    ...over,
  });

describe('pickInput', () => {
  it('one message: its text, its author as data, the chat meta with the paid amount', () => {
    const m = msg('1', { kind: 'paid', text: 'what is your favourite song?', paid: { amount: 5, currency: 'USD', display: '$5.00' } });
    const { input, ids } = pickInput([m], 'paid', 'live', 1234);
    expect(UserInput.parse(input)).toEqual(input);
    expect(ids).toEqual(['twitch:1']);
    expect(input).toMatchObject({
      session_id: 'live',
      source: 'chat',
      author: 'User1',
      text: 'what is your favourite song? (sent $5.00)',
      ts: 1234,
      chat: { platform: 'twitch', message_ids: ['twitch:1'], author_id: 'u-1', kind: 'paid', reason: 'paid', paid: { amount: 5, currency: 'USD' } },
    });
    expect(input.turn_id).toBe(input.task_id);
    // A new turn every time.
    expect(pickInput([m], 'paid', 'live').input.turn_id).not.toBe(input.turn_id);
  });

  it('a thank-you: one line naming who sent what, no single author, every id', () => {
    const batch = [
      msg('a', { kind: 'gift', text: '', gift: { name: 'Rose', count: 5 }, author: { id: 'ua', name: 'Ann' } }),
      msg('b', { kind: 'sub', text: '', gift: { name: 'Tier 1', count: 3 }, author: { id: 'ub', name: 'Bo' } }),
      msg('c', { kind: 'member', text: '', author: { id: 'uc', name: 'Cy' } }),
    ];
    const { input, ids } = pickInput(batch, 'thanks', 'live');
    expect(ids).toEqual(['twitch:a', 'twitch:b', 'twitch:c']);
    expect(input.text).toBe('Thank these viewers for their support: Ann sent 5 × Rose; Bo subscribed (3 months); Cy became a member.');
    expect(input.author).toBeUndefined();
    expect(input.chat).toMatchObject({ kind: 'gift', reason: 'thanks' });
    expect(input.chat!.author_id).toBeUndefined();
  });

  it('names at most eight viewers in a thank-you and counts the rest', () => {
    const batch = Array.from({ length: 11 }, (_, i) => msg(String(i), { kind: 'gift', text: '', gift: { name: 'Star', count: 1 } }));
    expect(thanksLine(batch)).toMatch(/User7 sent 1 × Star; and 3 others\.$/);
    expect(thanksLine(batch)).not.toContain('User8');
  });

  it('a message without text still has something to answer; whitespace is flattened', () => {
    expect(inputText([msg('s', { kind: 'paid', text: '', paid: { amount: 100, currency: 'bits' } })], 'paid')).toBe('(sent 100 bits)');
    expect(inputText([msg('t', { text: '  two\n\nlines  ' })], 'rest')).toBe('two lines');
  });

  it('refuses an empty pick', () => {
    expect(() => pickInput([], 'rest', 'live')).toThrow(/without messages/);
  });
});
