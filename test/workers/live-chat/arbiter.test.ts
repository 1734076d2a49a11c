/**
 * ChatArbiter's rules on a fake clock: priority order, pace (gap, mic, turn), rate limit, duplicates,
 * spam, the bound, age-out, manual picks, bans, persistence.
 */
import { describe, expect, it } from 'vitest';
import { ChatArbiter, type ChatPick } from '../../../src/workers/live-chat/arbiter.js';
import { Priority } from '../../../src/workers/live-chat/arbiter-priority.js';
import { FakeClock, msg, settings, type ArbiterSettings } from './arbiter-helpers.js';

function setup(over: Parameters<typeof settings>[0] = {}) {
  const clock = new FakeClock();
  const s: ArbiterSettings = settings({ minGapMs: 1000, thanksBatchMs: 2000, ...over });
  const arb = new ChatArbiter({ settings: s, personaName: 'Aria', now: clock.now });
  /** Picks, then ends the turn and lets the gap pass, like the service does between answers. */
  const answer = async (): Promise<ChatPick | undefined> => {
    const p = await arb.next();
    if (p) {
      arb.setTurnActive(false);
      clock.advance(s.minGapMs);
    }
    return p;
  };
  return { clock, s, arb, answer };
}
const texts = (p: ChatPick | undefined) => p?.messages.map((m) => m.text);

describe('ChatArbiter priority', () => {
  it('paid > thanks > addressed/question > rest, oldest first within a tier', async () => {
    const { clock, arb, answer } = setup();
    arb.offer(msg(clock, 'just chatting'));
    arb.offer(msg(clock, 'nice stream'));
    arb.offer(msg(clock, 'what game is this'));
    arb.offer(msg(clock, 'hello aria'));
    arb.offer(msg(clock, '', { kind: 'gift', gift: { name: 'Rocket', count: 1 } }));
    arb.offer(msg(clock, 'take my money', { kind: 'paid', paid: { amount: 5, currency: 'USD' } }));
    clock.advance(2000); // the thanks batch is due
    const order: Array<[string | undefined, string | undefined]> = [];
    for (let i = 0; i < 6; i++) {
      const p = await answer();
      order.push([p?.reason, p?.messages[0]?.text]);
    }
    expect(order).toEqual([
      ['paid', 'take my money'],
      ['thanks', ''],
      ['question', 'what game is this'],
      ['addressed', 'hello aria'],
      ['rest', 'just chatting'],
      ['rest', 'nice stream'],
    ]);
  });

  it('orders paid messages by rough USD value across currencies and bits, then by age', async () => {
    const { clock, arb, answer } = setup();
    arb.offer(msg(clock, 'yen', { kind: 'paid', paid: { amount: 1000, currency: 'JPY' } })); // ~6.7
    arb.offer(msg(clock, 'bits', { kind: 'paid', paid: { amount: 500, currency: 'bits' } })); // 5
    arb.offer(msg(clock, 'yuan', { kind: 'paid', paid: { amount: 30, currency: 'CNY' } })); // ~4.2
    arb.offer(msg(clock, 'dollars', { kind: 'paid', paid: { amount: 20, currency: 'USD' } })); // 20
    arb.offer(msg(clock, 'bits again', { kind: 'paid', paid: { amount: 500, currency: 'BITS' } })); // 5, later
    arb.offer(msg(clock, 'mystery', { kind: 'paid', paid: { amount: 99, currency: 'XYZ' } })); // unknown: last paid
    arb.offer(msg(clock, 'question?'));
    const got: Array<string | undefined> = [];
    for (let i = 0; i < 7; i++) got.push(texts(await answer())?.[0]);
    expect(got).toEqual(['dollars', 'yen', 'bits', 'bits again', 'yuan', 'mystery', 'question?']);
  });

  it('offer reports the tier', () => {
    const { clock, arb } = setup();
    expect(arb.offer(msg(clock, 'hi there'))).toEqual({ accepted: true, priority: Priority.rest });
    expect(arb.offer(msg(clock, '@ARIA hey'))).toEqual({ accepted: true, priority: Priority.addressed });
    expect(arb.offer(msg(clock, '', { kind: 'sub', gift: { name: 'Tier 1', count: 3 } }))).toEqual({ accepted: true, priority: Priority.thanks });
    expect(arb.offer(msg(clock, 'gg', { kind: 'paid', paid: { amount: 1, currency: 'USD' } }))).toEqual({ accepted: true, priority: Priority.paid });
  });
});

describe('ChatArbiter thanks batch', () => {
  it('gifts, subs and memberships within the batch window become one pick with a summary note', async () => {
    const { clock, arb, answer } = setup({ thanksBatchMs: 5000 });
    arb.offer(msg(clock, '', { kind: 'gift', author: { id: 'a', name: 'Alice' }, gift: { name: 'Rocket', count: 2 } }));
    clock.advance(1000);
    arb.offer(msg(clock, '', { kind: 'gift', author: { id: 'b', name: 'Bob' }, gift: { name: 'Rocket', count: 3 } }));
    arb.offer(msg(clock, 'thanks for the stream', { kind: 'sub', author: { id: 'c', name: 'Cat' }, gift: { name: 'resub', count: 12 } }));
    arb.offer(msg(clock, '', { kind: 'member', author: { id: 'd', name: 'Dan' } }));
    arb.offer(msg(clock, '', { kind: 'gift', author: { id: 'a', name: 'Alice' }, gift: { name: '小心心', count: 10 } }));
    arb.offer(msg(clock, '', { kind: 'member', author: { id: 'e', name: 'Eve' } }));
    arb.offer(msg(clock, 'hello everyone'));
    // Before the window closes the ordinary message goes first: no waiting in silence for a batch.
    expect((await answer())?.reason).toBe('rest');
    expect(arb.wakeAt()).toBe(1_000_000 + 5000);
    clock.t = 1_000_000 + 5000;
    const p = await answer();
    expect(p?.reason).toBe('thanks');
    expect(p?.messages).toHaveLength(6);
    expect(p?.note).toBe('Alice, Bob and 3 others (10 × 小心心, 5 × Rocket, 1 sub, 2 memberships)');
    expect(await answer()).toBeUndefined();
  });
});

describe('ChatArbiter pace', () => {
  it('nothing while the mic is active or a turn runs; minGapMs after a turn ends', async () => {
    const { clock, arb } = setup({ minGapMs: 8000 });
    arb.offer(msg(clock, 'first'));
    arb.offer(msg(clock, 'second'));
    arb.setMicActive(true);
    expect(await arb.next()).toBeUndefined();
    expect(arb.wakeAt()).toBe(clock.t + 120_000); // only the age-out is ahead
    arb.setMicActive(false);
    expect(texts(await arb.next())).toEqual(['first']);
    // The pick started a turn: no second pick until it ends.
    expect(await arb.next()).toBeUndefined();
    arb.setTurnActive(false);
    expect(arb.wakeAt()).toBe(clock.t + 8000);
    clock.advance(7999);
    expect(await arb.next()).toBeUndefined();
    clock.advance(1);
    expect(texts(await arb.next())).toEqual(['second']);
  });

  it("a session turn (someone else's) also holds the chat, and its end starts the gap", async () => {
    const { clock, arb } = setup({ minGapMs: 3000 });
    arb.setTurnActive(true);
    arb.offer(msg(clock, 'waiting'));
    expect(await arb.next()).toBeUndefined();
    clock.advance(10_000);
    arb.setTurnActive(false);
    expect(await arb.next()).toBeUndefined();
    clock.advance(3000);
    expect(texts(await arb.next())).toEqual(['waiting']);
  });

  it('answerNow jumps the gap and the priorities, but not the mic', async () => {
    const { clock, arb } = setup({ minGapMs: 8000 });
    arb.offer(msg(clock, 'paid', { kind: 'paid', paid: { amount: 100, currency: 'USD' } }));
    const plain = msg(clock, 'pick me');
    arb.offer(plain);
    expect((await arb.next())?.reason).toBe('paid');
    arb.setTurnActive(false);
    arb.offer(msg(clock, 'paid again', { kind: 'paid', paid: { amount: 100, currency: 'USD' } }));
    expect(arb.answerNow(plain.id)).toBe(true);
    expect(arb.answerNow('twitch:nope')).toBe(false);
    arb.setMicActive(true);
    expect(await arb.next()).toBeUndefined();
    arb.setMicActive(false);
    expect(arb.wakeAt()).toBe(clock.t);
    const p = await arb.next();
    expect([p?.reason, texts(p)?.[0]]).toEqual(['manual', 'pick me']);
  });
});

describe('ChatArbiter filters', () => {
  it('rate-limits an author past perUserMax per window; paid messages are never rate-limited', () => {
    const { clock, arb } = setup({ perUserMax: 2, perUserWindowMs: 60_000 });
    const spammer = { id: 'spammy', name: 'Spammy' };
    expect(arb.offer(msg(clock, 'one', { author: spammer })).accepted).toBe(true);
    expect(arb.offer(msg(clock, 'two', { author: spammer })).accepted).toBe(true);
    expect(arb.offer(msg(clock, 'three', { author: spammer }))).toEqual({ accepted: false, reason: 'rate_limited' });
    expect(arb.offer(msg(clock, 'paid four', { author: spammer, kind: 'paid', paid: { amount: 1, currency: 'USD' } })).accepted).toBe(true);
    // Same id on another platform is another person.
    expect(arb.offer(msg(clock, 'other platform', { platform: 'youtube', author: spammer })).accepted).toBe(true);
    clock.advance(60_000);
    expect(arb.offer(msg(clock, 'five', { author: spammer })).accepted).toBe(true);
  });

  it('gifts, subs and memberships are never rate-limited nor suppressed as duplicates (each is thanked)', () => {
    const { clock, arb } = setup({ perUserMax: 1 });
    const fan = { id: 'fan', name: 'Fan' };
    for (let i = 0; i < 5; i++) {
      expect(arb.offer(msg(clock, '', { author: fan, kind: 'gift', gift: { name: 'Rose', count: 1 } })).accepted).toBe(true);
    }
    expect(arb.offer(msg(clock, 'hi', { author: fan })).accepted).toBe(true);
    expect(arb.offer(msg(clock, 'hi again', { author: fan }))).toEqual({ accepted: false, reason: 'rate_limited' });
    expect(arb.stats().byPriority).toMatchObject({ thanks: 5, rest: 1 });
  });

  it('suppresses the same normalised text from anyone within the window, and a replayed id', () => {
    const { clock, arb } = setup();
    const first = msg(clock, 'Hello Aria!');
    expect(arb.offer(first).accepted).toBe(true);
    expect(arb.offer(msg(clock, 'hello   ARIA'))).toEqual({ accepted: false, reason: 'duplicate' });
    expect(arb.offer(msg(clock, 'ｈｅｌｌｏ ａｒｉａ…'))).toEqual({ accepted: false, reason: 'duplicate' });
    expect(arb.offer({ ...first })).toEqual({ accepted: false, reason: 'duplicate' });
    expect(arb.offer(msg(clock, 'hello aria, how are you')).accepted).toBe(true);
    clock.advance(30_000);
    expect(arb.offer(msg(clock, 'hello aria')).accepted).toBe(true);
  });

  it('drops spam: repeated characters, copy-pasta walls, caps walls, link spam posted again', () => {
    const { clock, arb } = setup();
    expect(arb.offer(msg(clock, '哈哈哈哈 666')).accepted).toBe(true);
    expect(arb.offer(msg(clock, '哈'.repeat(30)))).toEqual({ accepted: false, reason: 'spam' });
    expect(arb.offer(msg(clock, 'lol '.repeat(10)))).toEqual({ accepted: false, reason: 'spam' });
    expect(arb.offer(msg(clock, 'copy this pasta '.repeat(5) + 'now'))).toEqual({ accepted: false, reason: 'spam' });
    expect(arb.offer(msg(clock, 'WHY IS NOBODY TALKING ABOUT THIS GAME'))).toEqual({ accepted: false, reason: 'spam' });
    expect(arb.offer(msg(clock, 'I LOVE this game')).accepted).toBe(true);
    const link = msg(clock, 'free followers at https://spam.example.com/x');
    expect(arb.offer(link).accepted).toBe(true);
    expect(arb.offer(msg(clock, 'check www.spam.example.com/x now'))).toEqual({ accepted: false, reason: 'spam' });
    // The first carrier of the link goes too.
    expect(arb.takeDropped()).toEqual([{ id: link.id, reason: 'spam' }]);
    expect(arb.offer(msg(clock, 'a.com b.com c.com'))).toEqual({ accepted: false, reason: 'spam' });
  });
});

describe('ChatArbiter queue', () => {
  it('a full queue evicts the oldest of the lowest tier, and refuses a message below everything', () => {
    const { clock, arb } = setup({ maxWaiting: 3 });
    const r1 = msg(clock, 'rest one');
    arb.offer(r1);
    arb.offer(msg(clock, 'rest two'));
    arb.offer(msg(clock, 'question one?'));
    expect(arb.offer(msg(clock, 'question two?')).accepted).toBe(true);
    expect(arb.takeDropped()).toEqual([{ id: r1.id, reason: 'overflow' }]);
    arb.offer(msg(clock, 'question three?'));
    expect(arb.stats().byPriority).toMatchObject({ question: 3, rest: 0 });
    expect(arb.offer(msg(clock, 'rest three'))).toEqual({ accepted: false, reason: 'overflow' });
    expect(arb.stats().waiting).toBe(3);
  });

  it('a burst of thousands stays bounded at maxWaiting, with every refusal or drop accounted for', async () => {
    const { clock, arb } = setup({ maxWaiting: 200, perUserMax: 2 });
    const paid = msg(clock, 'keep me', { kind: 'paid', paid: { amount: 1, currency: 'USD' } });
    arb.offer(paid);
    let accepted = 0;
    let refused = 0;
    let dropped = 0;
    for (let i = 0; i < 5000; i++) {
      clock.advance(10);
      const r = arb.offer(msg(clock, `message number ${i}${i % 7 === 0 ? '?' : ''}`, { author: { id: `a${i % 3000}` } }));
      if (r.accepted) accepted++;
      else refused++;
      dropped += arb.takeDropped().length;
      expect(arb.stats().waiting).toBeLessThanOrEqual(200);
    }
    expect(accepted + refused).toBe(5000);
    expect(accepted + 1 - dropped).toBe(arb.stats().waiting);
    expect(arb.stats().waiting).toBe(200);
    // The paid message outlived the flood of cheaper ones.
    expect((await arb.next())?.messages[0]?.id).toBe(paid.id);
  });

  it('unpaid messages age out after maxAgeMs; paid ones wait', async () => {
    const { clock, arb } = setup({ maxAgeMs: 60_000 });
    const old = msg(clock, 'old message');
    arb.offer(old);
    arb.offer(msg(clock, 'big', { kind: 'paid', paid: { amount: 1, currency: 'USD' } }));
    arb.setTurnActive(true);
    expect(arb.wakeAt()).toBe(clock.t + 60_000);
    clock.advance(60_000);
    expect(arb.takeDropped()).toEqual([{ id: old.id, reason: 'aged_out' }]);
    arb.setTurnActive(false);
    clock.advance(10_000);
    expect((await arb.next())?.reason).toBe('paid');
  });

  it('removeAuthor drops the waiting messages of a banned author', async () => {
    const { clock, arb } = setup();
    const bad = { id: 'troll', name: 'Troll' };
    const a = msg(clock, 'first troll', { author: bad });
    const b = msg(clock, 'second troll?', { author: bad });
    arb.offer(a);
    arb.offer(b);
    arb.offer(msg(clock, 'fine'));
    expect(arb.removeAuthor('youtube', 'troll')).toEqual([]);
    expect(arb.removeAuthor('twitch', 'troll').sort()).toEqual([a.id, b.id].sort());
    expect(texts(await arb.next())).toEqual(['fine']);
  });

  it('snapshot and restore carry the waiting messages across a restart, without double acceptance', async () => {
    const { clock, arb, s } = setup();
    arb.offer(msg(clock, 'rest'));
    const paid = msg(clock, 'paid', { kind: 'paid', paid: { amount: 3, currency: 'USD' } });
    arb.offer(paid);
    const saved = arb.snapshot();
    expect(saved.map((m) => m.text)).toEqual(['rest', 'paid']);
    const again = new ChatArbiter({ settings: s, personaName: 'Aria', now: clock.now });
    again.restore(JSON.parse(JSON.stringify(saved)) as typeof saved);
    expect(again.stats().waiting).toBe(2);
    expect(again.offer(paid)).toEqual({ accepted: false, reason: 'duplicate' });
    expect((await again.next())?.reason).toBe('paid');
  });
});
