/**
 * memory's side of long-term memory without a bus (src/workers/memory/ltm-turns.ts and
 * recall-client.ts recallInfo): who spoke a turn, what is kept until its reply and what a restarted
 * memory rebuilds from the stored message, the LtmTurn it writes, and how a recall is reported.
 */
import { describe, expect, it } from 'vitest';
import { LtmTurn, Subject } from '../../../src/shared/long-term.js';
import type { ReplyFinal } from '../../../src/shared/voice.js';
import { TurnMemos, ltmTurnOf, memoFromStore, speakerOf, storedChatMeta, type TurnMemo } from '../../../src/workers/memory/ltm-turns.js';
import { recallInfo } from '../../../src/workers/memory/recall-client.js';
import type { StoredMessage } from '../../../src/workers/memory/store.js';

const chat = (author_id?: string) => ({ platform: 'youtube' as const, message_ids: ['m'], kind: 'message' as const, reason: 'question' as const, ...(author_id !== undefined ? { author_id } : {}) });

describe('speakerOf', () => {
  it.each([
    ['a chat viewer, by platform id', { source: 'chat' as const, chat: chat('UC123') }, 'viewer:youtube:UC123'],
    ['a chat turn without an author id (a thank-you to many)', { source: 'chat' as const, chat: chat() }, 'streamer'],
    ['the mic', { source: 'mic' as const }, 'streamer'],
    ['an id with spaces and a leading colon, made safe', { source: 'chat' as const, chat: chat(':odd id') }, 'viewer:youtube:_odd_id'],
  ])('%s', (_what, turn, expected) => {
    const s = speakerOf(turn);
    expect(s).toBe(expected);
    expect(Subject.safeParse(s).success).toBe(true);
  });

  it("keeps the viewer's id in the stored chat meta (for a restart), nothing when there is none", () => {
    expect(storedChatMeta({ platform: 'youtube', kind: 'message' }, { chat: chat('UC1') })).toEqual({ platform: 'youtube', kind: 'message', author_id: 'UC1' });
    expect(storedChatMeta({ platform: 'youtube', kind: 'message' }, { chat: chat() })).toEqual({ platform: 'youtube', kind: 'message' });
    expect(storedChatMeta(undefined, {})).toBeUndefined();
  });
});

describe('TurnMemos', () => {
  const memo = (user: string): TurnMemo => ({ persona: 'Aria', speaker: 'streamer', source: 'typed', user, recalled_ids: [] });

  it('is bounded: the oldest turn drops out first; a turn set again counts as new', () => {
    const m = new TurnMemos(3);
    m.set('a', memo('1'));
    m.set('b', memo('2'));
    m.set('c', memo('3'));
    m.set('a', memo('1 again'));
    m.set('d', memo('4'));
    expect(m.size).toBe(3);
    expect(m.get('b')).toBeUndefined();
    expect(m.get('a')!.user).toBe('1 again');
    m.delete('a');
    expect(m.get('a')).toBeUndefined();
  });
});

describe('memoFromStore (after a restart of memory)', () => {
  const row = (extra: Partial<StoredMessage>): StoredMessage => ({ id: 1, session_id: 's', turn_id: 't', role: 'user', text: 'my dog is Rex', source: 'typed', author: null, chat: null, status: 'complete', ts: 1, pos: 1, tokens: 5, ...extra });

  it("rebuilds the speaker from the stored chat meta, the persona from what is in use now; the recalled ids are lost", () => {
    expect(memoFromStore(row({ source: 'chat', author: 'kim', chat: JSON.stringify({ platform: 'twitch', kind: 'message', author_id: '42' }) }), 'Luna')).toEqual({
      persona: 'Luna',
      speaker: 'viewer:twitch:42',
      speaker_name: 'kim',
      source: 'chat',
      user: 'my dog is Rex',
      recalled_ids: [],
    });
    expect(memoFromStore(row({}), 'Aria')).toMatchObject({ speaker: 'streamer', source: 'typed' });
    // Meta of an older version (no author id), or unreadable: the streamer's.
    expect(memoFromStore(row({ source: 'chat', chat: JSON.stringify({ platform: 'twitch', kind: 'message' }) }), 'Aria')!.speaker).toBe('streamer');
    expect(memoFromStore(row({ source: 'chat', chat: '{not json' }), 'Aria')!.speaker).toBe('streamer');
    // No user message: a say turn (or one whose message could not be stored): nothing to write.
    expect(memoFromStore(undefined, 'Aria')).toBeUndefined();
  });
});

describe('ltmTurnOf', () => {
  const reply = (status: ReplyFinal['status'], text: string): ReplyFinal => ({ session_id: 's', turn_id: 't', task_id: 't', event_id: 'e', ts: 1, marks: {}, status, text, sentences: 1 });
  const memo: TurnMemo = { persona: 'Aria', speaker: 'viewer:twitch:42', speaker_name: 'kim', source: 'chat', user: 'hi, I love jazz', recalled_ids: [3, 5] };

  it('a valid LtmTurn: the reply as far as it got, nothing of a failed one', () => {
    const done = ltmTurnOf(reply('done', 'Jazz is great!'), memo, 99);
    expect(LtmTurn.parse(done)).toEqual({ session_id: 's', turn_id: 't', persona: 'Aria', speaker: 'viewer:twitch:42', speaker_name: 'kim', source: 'chat', user: 'hi, I love jazz', assistant: 'Jazz is great!', status: 'done', recalled_ids: [3, 5], ts: 99 });
    expect(ltmTurnOf(reply('cancelled', 'Jazz is'), memo, 99).assistant).toBe('Jazz is');
    expect(ltmTurnOf(reply('error', 'Ja'), memo, 99).assistant).toBe('');
  });

  it('throws on what cannot be one (the caller logs and skips it rather than poisoning the stream)', () => {
    expect(() => ltmTurnOf(reply('done', 'x'), { ...memo, speaker: 'nobody' }, 1)).toThrow(/subject/);
  });
});

describe('recallInfo', () => {
  it.each([
    ['a hybrid answer', { items: [], status: 'ok' as const, waited_ms: 4.567, mode: 'vector' as const, took_ms: 3, embed_ms: 2, engine: 'use-lite:use-lite-en:512' }, 2, { status: 'vector', waited_ms: 4.57, took_ms: 3, embed_ms: 2, engine: 'use-lite:use-lite-en:512', count: 2 }],
    ['keyword only', { items: [], status: 'ok' as const, waited_ms: 1, mode: 'keyword' as const, took_ms: 0.5 }, 1, { status: 'keyword', waited_ms: 1, took_ms: 0.5, count: 1 }],
    ['no answer in time', { items: [], status: 'timeout' as const, waited_ms: 150.2, receivers: 1 }, 0, { status: 'timeout', waited_ms: 150.2, count: 0 }],
    ['could not ask', { items: [], status: 'error' as const, waited_ms: 0.1 }, 0, { status: 'error', waited_ms: 0.1, count: 0 }],
    ['recall off', { items: [], status: 'skipped' as const, waited_ms: 0 }, 0, { status: 'skipped', waited_ms: 0, count: 0 }],
  ])('%s', (_what, outcome, count, expected) => {
    expect(recallInfo(outcome, count)).toEqual(expected);
  });
});
