/**
 * A labelled paraphrase set for long-term memory: stored facts as a streamer's and viewers'
 * memories read (names, pets, food, games, places, promises, events), each with one or two queries
 * worded differently from the fact (few shared content words), and distractors that are plausible
 * memories answering none of the queries. English and Simplified Chinese.
 *
 * Used by `npm run bench:memory` (paraphrase top-3 hit rate per engine) and by the embedder tests.
 * Written by hand, not tuned to one engine: a query counts as a hit when its fact is among the top
 * 3 of all facts + distractors of the same language.
 */
import type { Embedder } from '../../src/workers/long-term-memory/embedders/types.js';
import { jaccard, termSet } from '../../src/workers/long-term-memory/text.js';

export type ParaphraseLang = 'en' | 'zh';

export interface ParaphraseFact {
  id: string;
  lang: ParaphraseLang;
  /** The stored memory. */
  fact: string;
  /** Questions or remarks that should recall it, worded differently. */
  queries: string[];
}

export interface ParaphraseDistractor {
  lang: ParaphraseLang;
  text: string;
}

const en = (id: string, fact: string, ...queries: string[]): ParaphraseFact => ({ id: `en-${id}`, lang: 'en', fact, queries });
const zh = (id: string, fact: string, ...queries: string[]): ParaphraseFact => ({ id: `zh-${id}`, lang: 'zh', fact, queries });

export const PARAPHRASE_FACTS: readonly ParaphraseFact[] = [
  en('cat', 'My cat is called Miso and she is three years old.', "What's the name of your kitty?", 'How old is that feline of yours?'),
  en('dog', 'Viewer kaz owns a golden retriever puppy named Biscuit.', 'Does kaz have a pet?', "What is the name of kaz's doggo?"),
  en('sushi', 'I love sushi more than any other food.', "What's your favourite thing to eat?", 'Which dish do you like best?'),
  en('spicy', "I can't handle spicy food at all, chilli makes me cry.", 'Can you take hot peppers?', 'How do you do with heat in your meals?'),
  en('coffee', 'I drink three cups of coffee every morning before streaming.', 'How much caffeine do you need to start the day?'),
  en('tea', 'Mika prefers green tea with no sugar.', 'What beverage does Mika like?', 'How does Mika take her drinks?'),
  en('vegetarian', 'Viewer luna has been vegetarian for five years.', 'Does luna eat meat?'),
  en('elden', 'I finished Elden Ring last week after ninety hours.', 'Did you beat that FromSoftware game?', 'How long did the souls-like take you to complete?'),
  en('minecraft', 'We built a giant castle together in Minecraft on Saturday.', 'What did we make in the block building game at the weekend?'),
  en('horror', 'I refuse to play horror games because they give me nightmares.', 'Would you stream something scary?', 'Why do you avoid frightening titles?'),
  en('rank', 'Ren reached Diamond rank in Valorant yesterday.', "What's Ren's competitive tier in the shooter?"),
  en('chess', 'Viewer tomo plays chess in a club every Thursday.', 'Which board game does tomo practise weekly?'),
  en('osaka', 'I grew up in Osaka and moved to Tokyo at twenty.', 'Where is your hometown?', 'Which city were you raised in?'),
  en('berlin', 'Viewer max lives in Berlin and works as a nurse.', "What is max's job?", 'Which German city is max from?'),
  en('iceland', 'I want to travel to Iceland to see the northern lights.', "Where's your dream vacation?", 'Do you hope to watch the aurora someday?'),
  en('birthday', 'My birthday is on the fourteenth of March.', 'When do you celebrate getting a year older?', 'What day were you born?'),
  en('anniv', "The channel's first anniversary stream is on June 2.", 'When is the celebration of one year streaming?'),
  en('karaoke', 'I promised to do a karaoke stream once we hit 1000 followers.', 'What did you say you would do at a thousand subs?', 'Any singing planned for the milestone?'),
  en('cosplay', 'I promised Yuki I would wear a maid outfit next Halloween.', 'What costume did you agree to for October?'),
  en('piano', 'I have been learning piano for two years.', 'Do you play any instrument?', 'How long have you practised the keyboard?'),
  en('guitar', 'Viewer sam broke a string on his guitar during the concert.', 'What happened to sam at the gig?'),
  en('allergy', 'I am allergic to peanuts.', 'Is there anything you cannot eat because of your health?', 'Do nuts make you sick?'),
  en('fear', 'Spiders terrify me more than anything.', 'Which creature scares you the most?'),
  en('color', 'My favourite colour is lavender purple.', 'What hue do you like best?'),
  en('sleep', 'I usually go to bed around three in the morning.', 'What time do you fall asleep?', 'Are you a night owl?'),
  en('exam', 'Viewer aiko has a university entrance exam next month.', 'Is aiko studying for a test?', 'What is aiko preparing for soon?'),
  en('job', 'Viewer dan just got hired as a software engineer.', 'Did dan find work?', 'What does dan do for a living now?'),
  en('wedding', 'Viewer nora is getting married in September.', "When is nora's wedding?", 'Is nora engaged?'),
  en('hospital', 'My grandmother was in the hospital last week.', 'How is your grandma doing?', 'Was a relative of yours ill recently?'),
  en('moving', 'I am moving to a new apartment at the end of the month.', 'Are you changing homes soon?', 'When do you relocate?'),
  en('anime', 'My favourite anime is Frieren.', 'Which cartoon series do you enjoy the most?'),
  en('book', 'I am reading The Hobbit again this winter.', 'What novel are you going through lately?'),
  en('rain', 'I love the sound of rain when I fall asleep.', 'What weather relaxes you at bedtime?'),
  en('football', 'Viewer leo supports Arsenal and never misses a match.', 'Which soccer team does leo cheer for?'),
  en('plant', 'I have a cactus on my desk called Spike.', 'Do you keep any greenery near your computer?'),
  en('mic', 'My new microphone arrived on Tuesday.', 'Did you get new audio gear?', 'When was the mic delivered?'),
  en('collab', 'We are doing a collab with Hana next Friday.', 'Who are you streaming with at the end of next week?'),
  en('ramen', 'Viewer kenji runs a small ramen shop in Kyoto.', 'Does kenji own a restaurant?', 'What business does kenji have?'),
  en('twins', 'Viewer rosa has twin daughters who are six.', 'Does rosa have kids?', 'How many children does rosa have?'),
  en('marathon', 'I ran my first marathon in under five hours.', 'Have you ever done a long-distance race?'),

  zh('cat', '我的猫叫小橘，今年三岁了。', '你家那只猫咪叫什么名字？', '你养的宠物多大了？'),
  zh('dog', '观众阿杰养了一只柯基，名字叫豆豆。', '阿杰家里有狗吗？', '阿杰的宠物叫啥？'),
  zh('hotpot', '我最喜欢吃火锅，尤其是麻辣锅底。', '你最爱的食物是什么？', '平时最想吃哪道菜？'),
  zh('spicy', '小雨一点辣都不能吃。', '小雨能吃辣椒吗？', '小雨口味重不重？'),
  zh('milktea', '我每天下午都要喝一杯奶茶。', '你有什么每日必喝的饮料？'),
  zh('coffee', '观众老王只喝美式咖啡，不加糖。', '老王喜欢什么饮品？'),
  zh('vegetarian', '观众小林吃素已经五年了。', '小林吃肉吗？'),
  zh('genshin', '我昨天在原神里抽到了新角色。', '你最近玩的那个二次元游戏运气怎么样？'),
  zh('mc', '周六我们一起在我的世界里盖了一座大城堡。', '周末大家在方块游戏里做了什么？'),
  zh('horror', '我不敢玩恐怖游戏，玩完会做噩梦。', '你会直播吓人的游戏吗？', '为什么你不碰惊悚题材？'),
  zh('rank', '阿明昨天王者荣耀上了星耀段位。', '阿明那个手游现在打到什么级别了？'),
  zh('go', '观众小周每周四去棋社下围棋。', '小周平时有什么棋类爱好？'),
  zh('chengdu', '我在成都长大，二十岁才搬到上海。', '你的老家在哪里？', '你小时候住在哪个城市？'),
  zh('nurse', '观众阿芳住在杭州，是一名护士。', '阿芳做什么工作？', '阿芳在哪个城市生活？'),
  zh('travel', '我一直想去冰岛看极光。', '你最想去哪儿旅行？', '你有没有想看的自然奇观？'),
  zh('birthday', '我的生日是三月十四号。', '你哪天出生的？', '你什么时候过生日？'),
  zh('anniv', '频道一周年纪念直播定在六月二号。', '开播满一年的庆祝活动是哪天？'),
  zh('karaoke', '我答应过粉丝到一千关注就开唱歌直播。', '到了一千订阅你说要做什么？', '有没有承诺过开演唱会？'),
  zh('cosplay', '我答应小雪万圣节穿女仆装。', '十月底你说好要扮成什么？'),
  zh('piano', '我学钢琴已经两年了。', '你会弹什么乐器吗？'),
  zh('guitar', '观众阿森演出的时候吉他断了一根弦。', '阿森那次表演出了什么状况？'),
  zh('allergy', '我对花生过敏。', '你有什么东西因为身体原因不能吃？'),
  zh('fear', '我最怕蜘蛛了。', '什么动物让你最害怕？'),
  zh('color', '我最喜欢的颜色是薰衣草紫。', '你偏爱哪种色调？'),
  zh('sleep', '我一般凌晨三点才睡觉。', '你晚上几点休息？', '你是夜猫子吗？'),
  zh('exam', '观众小美下个月要参加高考。', '小美最近在准备什么考试？'),
  zh('job', '观众大卫刚找到一份程序员的工作。', '大卫现在做什么职业？', '大卫找到工作了吗？'),
  zh('wedding', '观众娜娜九月份要结婚了。', '娜娜什么时候办婚礼？'),
  zh('hospital', '我奶奶上周住院了。', '你家里老人身体还好吗？', '最近有亲人生病吗？'),
  zh('moving', '我月底要搬到新公寓。', '你最近要换住处吗？'),
  zh('anime', '我最喜欢的动画是《葬送的芙莉莲》。', '你最爱看哪部番？'),
  zh('book', '这个冬天我在重读《三体》。', '你最近在看什么小说？'),
  zh('rain', '我喜欢听着雨声入睡。', '什么声音能帮你放松睡着？'),
  zh('football', '观众小李是皇马球迷，每场比赛都看。', '小李支持哪支足球队？'),
  zh('plant', '我桌上有一盆仙人掌，叫小刺。', '你电脑旁边养了什么植物？'),
  zh('mic', '我的新麦克风周二到货了。', '你买了新的录音设备吗？'),
  zh('collab', '下周五我们要和花花联动直播。', '下周末前你要跟谁一起播？'),
  zh('noodle', '观众老陈在西安开了一家面馆。', '老陈是做什么生意的？', '老陈开店了吗？'),
  zh('twins', '观众小红有一对六岁的双胞胎女儿。', '小红有孩子吗？', '小红家里几个小朋友？'),
  zh('marathon', '我第一次跑全程马拉松用了不到五小时。', '你参加过长跑比赛吗？'),
];

export const PARAPHRASE_DISTRACTORS: readonly ParaphraseDistractor[] = [
  { lang: 'en', text: 'The stream starts at eight in the evening on weekdays.' },
  { lang: 'en', text: 'Viewer pip asked about the schedule for next week.' },
  { lang: 'en', text: 'I bought a new keyboard with blue switches.' },
  { lang: 'en', text: 'Chat voted for the red outfit in the poll.' },
  { lang: 'en', text: 'The internet went down for ten minutes during the last stream.' },
  { lang: 'en', text: 'Viewer ivy said the audio was too quiet.' },
  { lang: 'en', text: 'I cleaned my room before the stream today.' },
  { lang: 'en', text: 'Mods banned a spam bot yesterday.' },
  { lang: 'en', text: 'The emote of a crying frog was added to the channel.' },
  { lang: 'en', text: 'Viewer otto gifted five memberships last night.' },
  { lang: 'en', text: 'My model got a new hairstyle update.' },
  { lang: 'en', text: 'We talked about the weather in London for a while.' },
  { lang: 'zh', text: '工作日的直播晚上八点开始。' },
  { lang: 'zh', text: '观众小白问了下周的直播安排。' },
  { lang: 'zh', text: '我买了一个新的青轴键盘。' },
  { lang: 'zh', text: '弹幕投票选了红色的衣服。' },
  { lang: 'zh', text: '上次直播网断了十分钟。' },
  { lang: 'zh', text: '观众阿紫说声音太小了。' },
  { lang: 'zh', text: '今天开播前我打扫了房间。' },
  { lang: 'zh', text: '房管昨天封了一个刷屏机器人。' },
  { lang: 'zh', text: '频道新加了一个哭哭青蛙的表情。' },
  { lang: 'zh', text: '观众阿奥昨晚送了五个舰长。' },
  { lang: 'zh', text: '我的模型换了新发型。' },
  { lang: 'zh', text: '我们聊了一会儿伦敦的天气。' },
];

/** The facts and distractors of one language: the corpus a query of that language is ranked in. */
export function paraphraseCorpus(lang: ParaphraseLang): Array<{ id: string; text: string }> {
  return [
    ...PARAPHRASE_FACTS.filter((f) => f.lang === lang).map((f) => ({ id: f.id, text: f.fact })),
    ...PARAPHRASE_DISTRACTORS.filter((d) => d.lang === lang).map((d, i) => ({ id: `${lang}-distractor-${i}`, text: d.text })),
  ];
}

/** Each query with the id of the fact it should recall. */
export function paraphraseQueries(lang: ParaphraseLang): Array<{ factId: string; query: string }> {
  return PARAPHRASE_FACTS.filter((f) => f.lang === lang).flatMap((f) => f.queries.map((query) => ({ factId: f.id, query })));
}

/**
 * Top-k hit rate of a ranking: the share of queries whose fact is among the first k ids `rank`
 * returns for the corpus of the query's language (ids best first; a ranker that leaves texts out,
 * e.g. keyword search without a shared term, just returns fewer).
 */
export async function topKHitRate(
  lang: ParaphraseLang,
  k: number,
  rank: (query: string, corpus: ReadonlyArray<{ id: string; text: string }>) => Promise<string[]> | string[],
): Promise<{ hits: number; total: number; rate: number; misses: string[] }> {
  const corpus = paraphraseCorpus(lang);
  const qs = paraphraseQueries(lang);
  let hits = 0;
  const misses: string[] = [];
  for (const q of qs) {
    const top = (await rank(q.query, corpus)).slice(0, k);
    if (top.includes(q.factId)) hits++;
    else misses.push(q.query);
  }
  return { hits, total: qs.length, rate: qs.length === 0 ? 0 : hits / qs.length, misses };
}

type Ranker = (query: string, corpus: ReadonlyArray<{ id: string; text: string }>) => Promise<string[]>;

/**
 * Ranks by cosine of the embedder's vectors (queries with purpose 'query', stored texts with
 * 'document'); texts it gives no vector are left out, and a query with no vector finds nothing.
 * Vectors are computed once per text.
 */
export function embedderRanker(e: Pick<Embedder, 'embed'>): Ranker {
  const docs = new Map<string, Float32Array | undefined>();
  return async (query, corpus) => {
    const missing = corpus.filter((c) => !docs.has(c.text)).map((c) => c.text);
    if (missing.length > 0) (await e.embed(missing, { purpose: 'document' })).forEach((v, i) => docs.set(missing[i]!, v));
    const [qv] = await e.embed([query], { purpose: 'query' });
    if (!qv) return [];
    const scored: Array<{ id: string; s: number }> = [];
    for (const c of corpus) {
      const v = docs.get(c.text);
      if (!v) continue;
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i]! * qv[i]!;
      scored.push({ id: c.id, s });
    }
    return scored.sort((a, b) => b.s - a.s).map((x) => x.id);
  };
}

/** Keyword matching as recall without vectors sees it: shared terms (text.ts), best Jaccard first. */
export function keywordRanker(): Ranker {
  return async (query, corpus) => {
    const qt = termSet(query);
    return corpus
      .map((c) => ({ id: c.id, s: jaccard(qt, termSet(c.text)) }))
      .filter((x) => x.s > 0)
      .sort((a, b) => b.s - a.s)
      .map((x) => x.id);
  };
}
