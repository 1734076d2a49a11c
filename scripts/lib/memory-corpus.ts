/**
 * Synthetic but realistic long-term memories for `npm run bench:memory`, from a seed: facts,
 * preferences, events and promises about the streamer, the avatar, the world and many chat viewers,
 * mostly English and some Simplified Chinese, as the fact extraction writes them. Each memory comes
 * from a template (its `template` id, used to derive vectors, see bench-memory.ts), and each can be
 * asked about with a question worded like a viewer would (`question`).
 */
import { prng } from './prng.js';

export interface SynthMemory {
  template: string;
  lang: 'en' | 'zh';
  persona: string;
  subject: string;
  subject_name?: string;
  kind: 'fact' | 'preference' | 'event' | 'promise';
  text: string;
  /** A question about it in other words. */
  question: string;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const NAMES = ['kaz', 'luna', 'tomo', 'max', 'aiko', 'dan', 'nora', 'sam', 'yuki', 'ren', 'ivy', 'otto', 'pip', 'mira', 'leo', 'zoe', 'finn', 'hana', 'kai', 'ada'];
const PETS = ['cat', 'dog', 'hamster', 'parrot', 'rabbit', 'turtle', 'goldfish', 'ferret'];
const PET_NAMES = ['Mochi', 'Biscuit', 'Pepper', 'Luna', 'Noodle', 'Ziggy', 'Tofu', 'Maple', 'Sushi', 'Bean', 'Pixel', 'Comet'];
const FOODS = ['sushi', 'ramen', 'spicy curry', 'chocolate cake', 'pizza with pineapple', 'green tea ice cream', 'dumplings', 'tacos', 'pho', 'cheesecake'];
const GAMES = ['Minecraft', 'Elden Ring', 'Valorant', 'Stardew Valley', 'chess', 'Tetris', 'Mario Kart', 'Hollow Knight', 'League of Legends', 'Animal Crossing'];
const CITIES = ['Osaka', 'Berlin', 'Toronto', 'Seoul', 'Lisbon', 'Melbourne', 'Paris', 'Taipei', 'Chicago', 'Oslo'];
const JOBS = ['nurse', 'software engineer', 'teacher', 'chef', 'student', 'graphic designer', 'truck driver', 'librarian'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const ACTIVITIES = ['sing a karaoke song', 'play a horror game', 'draw a fan art', 'cook a recipe live', 'read chat poems', 'do a cosplay'];

const ZH_NAMES = ['小明', '小红', '阿杰', '小白', '阿紫', '小雨', '阿奥', '小林'];
const ZH_PETS = ['猫', '狗', '仓鼠', '鹦鹉', '兔子'];
const ZH_FOODS = ['火锅', '饺子', '麻辣烫', '小笼包', '烤鸭', '奶茶'];
const ZH_CITIES = ['上海', '成都', '杭州', '广州', '西安', '北京'];
const ZH_ACTS = ['唱歌', '玩恐怖游戏', '画画', '做饭直播'];

interface Who {
  subject: string;
  name?: string;
  /** "I", "Viewer kaz"; "my", "kaz's". */
  en: string;
  poss: string;
  zh: string;
}

type Template = (r: () => number, w: Who) => Pick<SynthMemory, 'kind' | 'text' | 'question'>;

const EN: Record<string, Template> = {
  pet: (r, w) => {
    const [pet, nm] = [pick(r, PETS), pick(r, PET_NAMES)];
    return { kind: 'fact', text: `${w.en} has a ${pet} called ${nm}.`, question: `What is the name of ${w.poss} ${pet}?` };
  },
  food: (r, w) => {
    const f = pick(r, FOODS);
    return { kind: 'preference', text: `${w.en} loves ${f} more than any other food.`, question: `What does ${w.name ?? 'she'} like to eat most?` };
  },
  dislike: (r, w) => {
    const f = pick(r, FOODS);
    return { kind: 'preference', text: `${w.en} cannot stand ${f}.`, question: `Is there a dish ${w.name ?? 'you'} hate?` };
  },
  game: (r, w) => {
    const [g, d] = [pick(r, GAMES), pick(r, DAYS)];
    return { kind: 'fact', text: `${w.en} plays ${g} every ${d} evening.`, question: `Which game is ${w.name ?? 'she'} into these days?` };
  },
  trip: (r, w) => {
    const [c, d] = [pick(r, CITIES), pick(r, DAYS)];
    return { kind: 'event', text: `${w.en} came back from a trip to ${c} last ${d}.`, question: `Where did ${w.name ?? 'you'} travel recently?` };
  },
  job: (r, w) => {
    const [j, c] = [pick(r, JOBS), pick(r, CITIES)];
    return { kind: 'fact', text: `${w.en} works as a ${j} in ${c}.`, question: `What does ${w.name ?? 'she'} do for a living?` };
  },
  promise: (r, w) => {
    const [a, d] = [pick(r, ACTIVITIES), pick(r, DAYS)];
    return { kind: 'promise', text: `The avatar promised ${w.name ?? 'chat'} to ${a} on ${d}.`, question: `What did you say you would do for ${w.name ?? 'us'}?` };
  },
  birthday: (r, w) => {
    const day = 1 + Math.floor(r() * 28);
    const month = pick(r, ['January', 'March', 'May', 'July', 'September', 'November']);
    return { kind: 'fact', text: `${w.poss[0]!.toUpperCase()}${w.poss.slice(1)} birthday is on ${month} ${day}.`, question: `When was ${w.name ?? 'she'} born?` };
  },
};

const ZH: Record<string, Template> = {
  'zh-pet': (r, w) => {
    const [pet, nm] = [pick(r, ZH_PETS), pick(r, PET_NAMES)];
    return { kind: 'fact', text: `${w.zh}养了一只叫${nm}的${pet}。`, question: `${w.zh}的宠物叫什么名字？` };
  },
  'zh-food': (r, w) => {
    const f = pick(r, ZH_FOODS);
    return { kind: 'preference', text: `${w.zh}最喜欢吃${f}。`, question: `${w.zh}爱吃什么？` };
  },
  'zh-trip': (r, w) => {
    const c = pick(r, ZH_CITIES);
    return { kind: 'event', text: `${w.zh}上周去${c}旅游了。`, question: `${w.zh}最近去哪里玩了？` };
  },
  'zh-promise': (r, w) => {
    const a = pick(r, ZH_ACTS);
    return { kind: 'promise', text: `我答应${w.zh}下次直播${a}。`, question: `你答应${w.zh}什么了？` };
  },
};

export const EN_TEMPLATES = Object.keys(EN);

/** The memory number `i` of the corpus of `seed` (the same i, the same memory). */
export function synthMemory(seed: number, i: number): SynthMemory {
  const r = prng(seed * 1_000_003 + i);
  const roll = r();
  const viewerId = Math.floor(r() * 2000);
  const viewerName = `${pick(r, NAMES)}${viewerId}`;
  const who: Who =
    roll < 0.25
      ? { subject: 'streamer', en: 'I', poss: 'my', zh: '我' }
      : roll < 0.35
        ? { subject: 'avatar', name: 'Mika', en: 'Mika', poss: "Mika's", zh: 'Mika' }
        : roll < 0.45
          ? { subject: 'world', name: 'the mod team', en: 'The mod team', poss: "the mod team's", zh: '房管' }
          : {
              subject: `viewer:twitch:${viewerId}`,
              name: viewerName,
              en: `Viewer ${viewerName}`,
              poss: `${viewerName}'s`,
              zh: `观众${pick(r, ZH_NAMES)}${viewerId}`,
            };
  const zh = r() < 0.15;
  const table = zh ? ZH : EN;
  const template = pick(r, Object.keys(table));
  const m = table[template]!(r, who);
  return {
    template,
    lang: zh ? 'zh' : 'en',
    persona: r() < 0.9 ? 'Mika' : 'Rin',
    subject: who.subject,
    ...(who.subject.startsWith('viewer:') ? { subject_name: who.name } : {}),
    ...m,
  };
}
