/**
 * Synthetic live chat for scripts/bench-chat.ts: a deterministic stream of realistic mixed messages
 * across Twitch, YouTube and Bilibili (English and Chinese chat lines, questions, lines that name the
 * avatar, Super Chats / bits / SCs, gifts, subs, memberships, spam, duplicates), from several
 * thousand authors of whom a few chat far more than the rest.
 */
import type { ChatPlatform, LiveChatMessage } from '../../src/shared/live-chat.js';
import { prng } from './prng.js';

export interface TrafficOptions {
  /** Messages per minute (evenly spaced, with jitter). */
  perMinute: number;
  durationMs: number;
  /** Time of the first message, ms (the simulated clock's epoch, or Date.now()). */
  startAt: number;
  authors: number;
  seed: number;
  /** Id prefix, so two runs in one process never share ids. */
  tag: string;
}


const EN_WORDS =
  'the this game looks really fun today stream music is so good nice play chat love that boss fight was close wow cute voice art model new viewer from brazil germany japan here again late night morning coffee tea cat dog rain'.split(' ');
const ZH_BITS = ['主播', '今天', '好', '可爱', '这个', '游戏', '真的', '太', '强了', '晚上', '来了', '弹幕', '前排', '厉害', '声音', '好听', '下次', '继续', '加油', '笑死'];
const COMMON = ['lol', 'LOL', 'gg', 'GG', 'hi', 'hello', 'pog', 'Kappa', 'nice', '666', '草', '哈哈哈', '来了', '晚上好', 'hi chat', '好耶', 'F', 'W'];
const EN_QUESTIONS = [
  'what game is this?',
  'how long have you been streaming',
  'do you like cats?',
  'where are you from',
  "what's your favourite food?",
  'can you sing a song for us',
  'when is the next stream?',
  'how do you beat this boss?',
  'is this your first playthrough',
  'why is the sky blue',
];
const ZH_QUESTIONS = ['主播在玩什么游戏？', '你喜欢吃什么', '今天播多久呀？', '你是哪里人', '为什么不说话了', '这首歌叫什么名字', '明天还播吗', '可以唱首歌吗？'];
const ADDRESSED = ['hi Aria!', '@Aria you are the best', 'Aria look at chat', 'ARIA good morning', '艾莉亚晚上好', '@艾莉亚 好可爱', 'aria you sound tired today', 'love you aria'];
const SPAM = [
  () => '6'.repeat(40),
  () => '哈'.repeat(36),
  () => 'copy this pasta and spread it '.repeat(5),
  () => 'FOLLOW MY CHANNEL FOR FREE SUBS AND GIFTS NOW',
  () => 'cheap viewers at bit.ly/abc123 cheap followers',
  () => 'W W W W W W W W W W W W W W W W W W',
];
const GIFTS = ['小心心', '辣条', '粉丝团灯牌', '小电视飞船', '打call'];

const pickOf = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export interface TrafficMix {
  paid: number;
  gift: number;
  sub: number;
  member: number;
  question: number;
  addressed: number;
  spam: number;
  common: number;
}

/** Shares of each kind of message; the rest are ordinary, mostly unique chat lines. */
export const MIX: TrafficMix = { paid: 0.0015, gift: 0.03, sub: 0.01, member: 0.005, question: 0.1, addressed: 0.05, spam: 0.05, common: 0.15 };

/** The chat, in time order; `received_at` on the caller's clock. */
export function* chatTraffic(o: TrafficOptions): Generator<LiveChatMessage> {
  const r = prng(o.seed);
  const interval = 60_000 / o.perMinute;
  const count = Math.floor(o.durationMs / interval);
  const platforms: ChatPlatform[] = ['twitch', 'youtube', 'bilibili'];
  for (let i = 0; i < count; i++) {
    // Heavy chatters: low author numbers come far more often (r^3 skews towards 0).
    const authorN = Math.floor(o.authors * r() ** 3);
    const platform = platforms[authorN % 3]!;
    const base = {
      id: `${platform}:${o.tag}-${i}`,
      platform,
      connection: `${platform}-main`,
      channel: platform === 'bilibili' ? '21452505' : platform === 'youtube' ? 'dQw4w9WgXcQ' : 'streamer',
      author: { id: `${platform}-u${authorN}`, name: authorN % 5 === 0 ? `观众${authorN}` : `viewer_${authorN}`, roles: [] },
      received_at: o.startAt + Math.round(i * interval + r() * interval * 0.5),
    };
    let x = r();
    const take = (share: number) => (x -= share) < 0;
    if (take(MIX.paid)) {
      const text = r() < 0.5 ? pickOf(r, EN_QUESTIONS) : pickOf(r, ZH_QUESTIONS);
      const paid =
        platform === 'twitch'
          ? { amount: 100 * Math.ceil(r() * 50), currency: 'bits' }
          : platform === 'youtube'
            ? r() < 0.5
              ? { amount: 2 + Math.floor(r() * 98), currency: 'USD' }
              : { amount: 200 * Math.ceil(r() * 50), currency: 'JPY' }
            : { amount: 30 * Math.ceil(r() * 30), currency: 'CNY' };
      yield { ...base, text, kind: 'paid', paid };
    } else if (take(MIX.gift)) {
      yield { ...base, text: '', kind: 'gift', gift: { name: pickOf(r, GIFTS), count: 1 + Math.floor(r() * 10) } };
    } else if (take(MIX.sub)) {
      yield { ...base, text: r() < 0.5 ? '' : 'love the streams', kind: 'sub', gift: { name: 'Tier 1', count: 1 + Math.floor(r() * 24) } };
    } else if (take(MIX.member)) {
      yield { ...base, text: '', kind: 'member' };
    } else if (take(MIX.question)) {
      yield { ...base, text: `${r() < 0.6 ? pickOf(r, EN_QUESTIONS) : pickOf(r, ZH_QUESTIONS)}${r() < 0.5 ? '' : ` ${i % 97}`}`, kind: 'message' };
    } else if (take(MIX.addressed)) {
      yield { ...base, text: `${pickOf(r, ADDRESSED)}${r() < 0.5 ? '' : ` ${pickOf(r, EN_WORDS)}`}`, kind: 'message' };
    } else if (take(MIX.spam)) {
      yield { ...base, text: pickOf(r, SPAM)(), kind: 'message' };
    } else if (take(MIX.common)) {
      yield { ...base, text: pickOf(r, COMMON), kind: 'message' };
    } else if (r() < 0.4) {
      let text = '';
      for (let n = 2 + Math.floor(r() * 5); n > 0; n--) text += pickOf(r, ZH_BITS);
      yield { ...base, text, kind: 'message' };
    } else {
      const words: string[] = [];
      for (let n = 2 + Math.floor(r() * 8); n > 0; n--) words.push(pickOf(r, EN_WORDS));
      yield { ...base, text: words.join(' '), kind: 'message' };
    }
  }
}

/** Yields `messages` at the pace of their `received_at` on the real clock, restamped with the real arrival time. */
export async function* realTime(messages: Iterable<LiveChatMessage>): AsyncGenerator<LiveChatMessage> {
  let first: number | undefined;
  const start = Date.now();
  for (const m of messages) {
    first ??= m.received_at;
    const due = start + (m.received_at - first);
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    yield { ...m, received_at: Date.now() };
  }
}
