/** Posting a chat turn's finished reply back to the connections it answers. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ReplyPoster, trimForChat } from './replies.js';

const log = pino({ level: 'silent' });

function poster(posting: string[], fail: string[] = []) {
  const posts: Array<[string, string]> = [];
  const p = new ReplyPoster(
    {
      canPost: (c) => posting.includes(c),
      post: async (c, t) => {
        if (fail.includes(c)) throw new Error('refused');
        posts.push([c, t]);
      },
    },
    log,
  );
  return { p, posts };
}

describe('ReplyPoster', () => {
  it('posts the done reply once, only to the connections that post', async () => {
    const { p, posts } = poster(['tw']);
    p.remember('t1', ['tw', 'yt', 'tw']);
    await p.done('t1', 'Thanks  for\nthe sub!');
    await p.done('t1', 'Thanks for the sub!');
    expect(posts).toEqual([['tw', 'Thanks for the sub!']]);
  });

  it('remembers nothing for connections that do not post, and nothing is posted for a forgotten turn', async () => {
    const { p, posts } = poster(['tw']);
    p.remember('t1', ['yt']);
    expect(p.size).toBe(0);
    p.remember('t2', ['tw']);
    p.forget('t2');
    await p.done('t2', 'hello');
    expect(posts).toEqual([]);
  });

  it('a post that fails is logged, the others still go', async () => {
    const { p, posts } = poster(['a', 'b'], ['a']);
    p.remember('t', ['a', 'b']);
    await p.done('t', 'hi');
    expect(posts).toEqual([['b', 'hi']]);
  });

  it('keeps at most 200 turns, the oldest forgotten first', async () => {
    const { p, posts } = poster(['tw']);
    for (let i = 0; i < 201; i++) p.remember(`t${i}`, ['tw']);
    expect(p.size).toBe(200);
    await p.done('t0', 'old');
    await p.done('t200', 'new');
    expect(posts).toEqual([['tw', 'new']]);
  });
});

describe('trimForChat', () => {
  it('leaves a short line alone', () => {
    expect(trimForChat('hello there')).toBe('hello there');
  });
  it('cuts at 500 characters on a word boundary with an ellipsis', () => {
    const text = 'word '.repeat(200);
    const out = trimForChat(text);
    expect(Array.from(out).length).toBeLessThanOrEqual(500);
    expect(out.endsWith('word…')).toBe(true);
  });
  it('cuts text without spaces (CJK) at the limit, counting code points', () => {
    const out = trimForChat('你好'.repeat(400));
    expect(Array.from(out)).toHaveLength(500);
    expect(out.endsWith('…')).toBe(true);
  });
});
