/**
 * The emotion map proposed when a model is scanned: which expression (or motion group) each emotion
 * tag of the pipeline shows. Expressions are matched first by name (English, Japanese romaji,
 * Chinese), then by what they do to the face (parameter deltas: a raised mouth form or smiling eyes
 * is joy, lowered brow angle and narrowed eye form is anger, a blush parameter is shyness...), so
 * models whose expressions are called f01..f08 still get a sensible map. A motion group stands in by
 * name where no expression fits. The streamer edits the result in the studio's model panel.
 */
import { EMOTIONS, type EmotionAction, type EmotionMap } from '../../shared/models.js';
import type { ParamDelta } from './scan.js';

type Emotion = (typeof EMOTIONS)[number];

export interface EmotionSource {
  expressions: ReadonlyArray<{ name: string; params: readonly ParamDelta[] }>;
  motions: Readonly<Record<string, number>>;
}

/** Words in expression and motion names, lowercase; CJK ones match as substrings. */
const SYNONYMS: Record<Emotion, readonly string[]> = {
  neutral: ['neutral', 'normal', 'default', 'calm', 'plain', 'futsuu', 'futsu', 'heijou', '通常', '普通', '平常', '默认', '常态'],
  joy: ['joy', 'happy', 'happiness', 'smile', 'smiling', 'laugh', 'laughing', 'glad', 'fun', 'grin', 'delight', 'cheerful', 'egao', 'warai', 'ureshii', 'tanoshii', '笑', '喜', '嬉', '开心', '高兴', '快乐'],
  sad: ['sad', 'sadness', 'cry', 'crying', 'tear', 'tears', 'sorrow', 'upset', 'depressed', 'kanashii', 'kanashimi', 'naki', 'namida', '悲', '哀', '泣', '哭', '伤心', '难过'],
  angry: ['angry', 'anger', 'mad', 'rage', 'furious', 'annoyed', 'pout', 'ikari', 'okori', 'okoru', '怒', '生气', '愤怒'],
  surprised: ['surprised', 'surprise', 'shock', 'shocked', 'astonished', 'amazed', 'wow', 'odoroki', 'bikkuri', '驚', '惊', '吃惊', '震惊'],
  fear: ['fear', 'scared', 'afraid', 'frightened', 'terrified', 'panic', 'kowai', 'obie', '恐', '怖', '怕', '害怕'],
  disgust: ['disgust', 'disgusted', 'gross', 'yuck', 'iya', '嫌', '厌恶', '恶心'],
  shy: ['shy', 'blush', 'blushing', 'embarrassed', 'flustered', 'tere', 'hazukashii', '照', '恥', '害羞', '脸红', '羞'],
  thinking: ['think', 'thinking', 'ponder', 'wonder', 'hmm', 'confused', 'question', 'kangae', 'nayami', '考', '思考', '疑问', '困惑'],
};

/** Motion groups that suit an emotion besides its own words (the Cubism samples' tap_body is a cheerful reaction). */
const MOTION_EXTRA: Partial<Record<Emotion, readonly string[]>> = {
  joy: ['tap body', 'tapbody'],
};

/** The words of a name: split on punctuation and camelCase, lowercase. */
function words(name: string): string[] {
  return name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9\u3040-\u30ff\u3400-\u9fff]+/)
    .filter(Boolean);
}

function nameMatches(name: string, synonyms: readonly string[]): boolean {
  const ws = words(name);
  const joined = ws.join(' ');
  return synonyms.some((s) => (/[^ -~]/.test(s) ? name.includes(s) : s.includes(' ') ? joined.includes(s) : ws.includes(s)));
}

/** Facial features of an expression, from its parameter deltas (Cubism 2 and 3+ ids alike). */
interface Features {
  mouthForm: number;
  mouthOpen: number;
  eyeSmile: number;
  eyeOpen: number;
  eyeForm: number;
  browY: number;
  browAngle: number;
  browForm: number;
  blush: number;
  gloom: number;
  sparkle: number;
  anger: number;
  sweat: number;
}

const FEATURES: ReadonlyArray<[keyof Features, RegExp]> = [
  ['mouthForm', /^mouthform$/],
  ['mouthOpen', /^mouth(openy?|size)$/],
  ['eyeSmile', /^eye[lr]?smile$/],
  ['eyeOpen', /^eye[lr]?open$/],
  ['eyeForm', /^eye[lr]?form$/],
  ['browY', /^brow[lr]?y$/],
  ['browAngle', /^brow[lr]?angle$/],
  ['browForm', /^brow[lr]?form$/],
  ['blush', /cheek|tere|blush|hoho|shy/],
  ['gloom', /tear|namida|donyori|gloom|shadow|kage|sad/],
  ['sparkle', /kirakira|sparkle|star|heart|shine/],
  ['anger', /anger|angry|ikari|okori|mad$/],
  ['sweat', /sweat|ase$|aseri|panic/],
];

export function features(params: readonly ParamDelta[]): Features {
  const sums: Record<string, number[]> = {};
  for (const p of params) {
    const key = p.id.toLowerCase().replace(/^param_?/, '').replace(/_/g, '');
    const hit = FEATURES.find(([, re]) => re.test(key));
    if (hit) (sums[hit[0]] ??= []).push(Math.max(-1, Math.min(1, p.delta)));
  }
  const f = {} as Features;
  for (const [k] of FEATURES) {
    const v = sums[k];
    f[k] = v ? v.reduce((a, b) => a + b, 0) / v.length : 0;
  }
  return f;
}

const pos = (x: number) => Math.max(0, x);
const neg = (x: number) => Math.max(0, -x);

/** How well an expression with these features shows each emotion (0: not at all). */
export function scores(f: Features, paramCount: number): Record<Emotion, number> {
  return {
    neutral: paramCount === 0 ? 1 : 0,
    joy: 1.5 * pos(f.eyeSmile) + pos(f.mouthForm) + 0.5 * f.sparkle + 0.3 * pos(f.browForm),
    sad: f.gloom + 0.6 * pos(f.browAngle) + 0.5 * pos(f.eyeForm) + 0.4 * neg(f.eyeOpen) + 0.3 * neg(f.mouthForm),
    angry: f.anger + 0.8 * neg(f.browAngle) + 0.5 * neg(f.eyeForm) + 0.8 * neg(f.browForm) + 0.3 * neg(f.browY) + 0.3 * neg(f.mouthForm),
    surprised: pos(f.eyeOpen) + 0.4 * pos(f.browY) + 0.4 * pos(f.mouthOpen) + 0.3 * pos(f.browForm),
    fear: f.sweat + 0.4 * pos(f.eyeOpen) + 0.4 * pos(f.browAngle) + 0.3 * f.gloom,
    disgust: 0.5 * neg(f.mouthForm) + 0.3 * neg(f.eyeOpen) + 0.3 * neg(f.browForm),
    shy: 1.5 * f.blush,
    thinking: 0,
  };
}

/** Emotions each expression may serve only once in the first round, so f01..f0n spread over them. */
const PRIMARY: readonly Emotion[] = ['neutral', 'joy', 'sad', 'angry', 'surprised', 'shy'];
/** Below this a parameter match is a guess not worth proposing. */
const MIN_SCORE = 0.3;

export function proposeEmotionMap(model: EmotionSource): EmotionMap {
  const map: Partial<Record<Emotion, EmotionAction>> = {};
  const used = new Set<string>();

  // 1. By name.
  for (const emotion of EMOTIONS) {
    const hit = model.expressions.find((e) => nameMatches(e.name, SYNONYMS[emotion]));
    if (hit) {
      map[emotion] = { expression: hit.name };
      used.add(hit.name);
    }
  }

  // 2. By parameter deltas: the best (emotion, expression) pairs first, one emotion per expression.
  const scored = model.expressions.map((e) => ({ name: e.name, s: scores(features(e.params), e.params.filter((p) => p.delta !== 0).length) }));
  const pairs = PRIMARY.flatMap((emotion) => scored.map((e) => ({ emotion, name: e.name, score: e.s[emotion] })))
    .filter((p) => p.score >= MIN_SCORE)
    .sort((a, b) => b.score - a.score);
  for (const p of pairs) {
    if (map[p.emotion] || used.has(p.name)) continue;
    map[p.emotion] = { expression: p.name };
    used.add(p.name);
  }

  // 3. What is left (and the secondary emotions) may share an expression with another emotion.
  for (const emotion of EMOTIONS) {
    if (map[emotion]) continue;
    let best: { name: string; score: number } | undefined;
    for (const e of scored) if (e.s[emotion] >= MIN_SCORE && (!best || e.s[emotion] > best.score)) best = { name: e.name, score: e.s[emotion] };
    if (best) map[emotion] = { expression: best.name };
  }

  // 4. A motion group by name where no expression fits (never an idle group: it plays anyway).
  for (const emotion of EMOTIONS) {
    if (map[emotion] || emotion === 'neutral') continue;
    const syn = [...SYNONYMS[emotion], ...(MOTION_EXTRA[emotion] ?? [])];
    const group = Object.keys(model.motions).find((g) => model.motions[g] > 0 && !/idle/i.test(g) && nameMatches(g, syn));
    if (group) map[emotion] = { motion: { group } };
  }
  return map;
}
