/**
 * Emotion tags in the streamed reply: `[joy]`, `[Happy]`, `【开心】`, `(laughs)`, `[emotion: sad]`.
 * A tag is a short word in square brackets `[..]`, `【..】` or parentheses `(..)`, `（..）` that names
 * one of EMOTIONS or a synonym (English and Chinese, plus common stage directions such as "laughs",
 * "sighs", "blushes"). Tags are removed from the spoken text and reported with their position; any
 * other bracketed text ("[citation needed]", "(see above)", "[1]") stays as it is. Parentheses are
 * accepted because models write stage directions that way, but only for the listed words, so ordinary
 * remarks in parentheses are spoken.
 * Streaming: a bracket is held back until it closes or can no longer be a tag (a character a tag
 * cannot contain, or longer than MAX_TAG), so a tag split across deltas ("[jo" + "y]") is still
 * removed and ordinary text is delayed by at most a few characters.
 * When a tag is removed, the white space after it is dropped if white space (or nothing) came before
 * it, so "Hi [joy] there" is spoken "Hi there" and "[joy] Hello" as "Hello".
 */
import type { Emotion } from '../../shared/voice.js';

const MAX_TAG = 24;
const PAIRS: Record<string, string> = { '[': ']', '【': '】', '(': ')', '（': '）' };

const SYNONYMS: Record<Emotion, string[]> = {
  neutral: ['neutral', 'calm', 'normal', 'default', '平静', '中性', '冷静'],
  joy: ['joy', 'joyful', 'happy', 'happiness', 'glad', 'excited', 'cheerful', 'delighted', 'laugh', 'laughs', 'laughing', 'giggle', 'giggles', 'smile', 'smiles', 'smiling', 'grin', 'grins', '开心', '高兴', '快乐', '喜悦', '笑', '兴奋'],
  sad: ['sad', 'sadness', 'unhappy', 'upset', 'sorrow', 'cry', 'cries', 'crying', 'sob', 'sobs', 'sigh', 'sighs', '难过', '伤心', '悲伤', '哭'],
  angry: ['angry', 'anger', 'mad', 'annoyed', 'furious', 'pout', 'pouts', '生气', '愤怒'],
  surprised: ['surprised', 'surprise', 'shocked', 'amazed', 'astonished', 'gasp', 'gasps', '惊讶', '吃惊', '震惊'],
  fear: ['fear', 'scared', 'afraid', 'frightened', 'nervous', 'shiver', 'shivers', '害怕', '恐惧', '紧张'],
  disgust: ['disgust', 'disgusted', 'gross', '厌恶', '恶心'],
  shy: ['shy', 'embarrassed', 'bashful', 'blush', 'blushes', 'blushing', '害羞', '脸红'],
  thinking: ['thinking', 'think', 'thoughtful', 'ponder', 'ponders', 'pondering', 'curious', 'hmm', '思考', '想想', '好奇'],
};
const LOOKUP = new Map<string, Emotion>();
for (const [emotion, words] of Object.entries(SYNONYMS) as Array<[Emotion, string[]]>) for (const w of words) LOOKUP.set(w, emotion);

/** The emotion a tag's inside names (`Joy`, ` emotion: happy `, `开心`), or undefined. */
export function emotionOf(inside: string): Emotion | undefined {
  const w = inside
    .trim()
    .toLowerCase()
    .replace(/^(emotion|mood|expression|表情|情绪)\s*[:：=]\s*/, '')
    .replace(/^\*+|\*+$/g, '');
  return LOOKUP.get(w);
}

/** Characters a tag's inside may hold (letters of any script, space, _ - : ：=). */
const tagChar = (c: string) => c.toLowerCase() !== c.toUpperCase() || c === ' ' || c === '_' || c === '-' || c === ':' || c === '：' || c === '=' || c === '*' || (c >= '\u4e00' && c <= '\u9fff');
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\u3000';

export type OnEmotion = (emotion: Emotion, offset: number, tag: string) => void;

export class EmotionFilter {
  /** An opened bracket that may still turn out to be a tag. */
  private held = '';
  /** Spoken text produced before the current push (offsets of tags refer to the whole of it). */
  private produced = 0;
  /** Spoken text of the current push so far. */
  private out = '';
  private lastWasSpace = true;
  private dropSpace = false;
  /** A tag sat between a sentence mark and a word ("fine.[sad]But"): keep them apart. */
  private spaceAfterMark = false;
  private last = '';

  constructor(private readonly onEmotion: OnEmotion) {}

  /** Filters one delta: returns the spoken text it releases (maybe '' while a bracket is held). */
  push(delta: string): string {
    this.out = '';
    for (const c of delta) this.step(c);
    this.produced += this.out.length;
    return this.out;
  }

  /** The end of the reply: releases a bracket that never closed. */
  flush(): string {
    this.out = '';
    this.emit(this.held);
    this.held = '';
    this.produced += this.out.length;
    return this.out;
  }

  private step(c: string): void {
    if (this.held) {
      const close = PAIRS[this.held[0]!]!;
      if (c === close) {
        const tag = this.held + c;
        const emotion = emotionOf(this.held.slice(1));
        this.held = '';
        if (!emotion) return this.emit(tag);
        this.onEmotion(emotion, this.produced + this.out.length, tag);
        this.dropSpace = this.lastWasSpace;
        this.spaceAfterMark = this.last === '.' || this.last === '!' || this.last === '?';
        return;
      }
      if (tagChar(c) && this.held.length < MAX_TAG) {
        this.held += c;
        return;
      }
      // Not a tag after all: release what was held, then look at c afresh (it may open a bracket).
      this.emit(this.held);
      this.held = '';
    }
    if (PAIRS[c]) this.held = c;
    else this.emit(c);
  }

  private emit(text: string): void {
    for (const c of text) {
      if (this.dropSpace && isSpace(c)) continue;
      this.dropSpace = false;
      if (this.spaceAfterMark && c.toLowerCase() !== c.toUpperCase()) this.out += ' ';
      this.spaceAfterMark = false;
      this.out += c;
      this.last = c;
      this.lastWasSpace = isSpace(c) || c === '\n';
    }
  }
}
