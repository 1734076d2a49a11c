/**
 * The filter on what the avatar says: every sentence of a reply passes it before it is spoken (its
 * TtsRequest) and before it is shown (ai_responses, which the overlay's subtitles and the studio
 * read). A sentence with a banned word or a banned name is either skipped whole or has each match
 * replaced (`action`), with the same matching as the inbound chat filter (text-match.ts).
 *
 * Names: the banned-users entries that are names, and the names of accounts banned live from the
 * studio (`addName`), so a banned viewer is never greeted or thanked aloud.
 */
import type { Config } from '../../shared/config.js';
import { bannedNames } from '../../shared/word-list.js';
import { WordMatcher, mergeMatches, replaceMatches } from './text-match.js';

export interface OutputFilterOptions {
  words: string[];
  names: string[];
  action: 'skip' | 'replace';
  replacement: string;
}

export type OutputFilterResult = { text: string; changed: boolean } | { skip: true; reason: string };

export class OutputFilter {
  private readonly words: WordMatcher;
  private readonly names: WordMatcher;

  constructor(private readonly o: OutputFilterOptions) {
    this.words = new WordMatcher(o.words);
    this.names = new WordMatcher(o.names);
  }

  /** Whether anything can be filtered (with nothing, a reply streams exactly as without a filter). */
  get active(): boolean {
    return this.words.size > 0 || this.names.size > 0;
  }

  /** Never speaks `name` from now on (a viewer banned live). */
  addName(name: string): void {
    this.names.add(name);
  }

  /** The sentence as it may be spoken and shown, or `skip` with why (never the banned text itself). */
  apply(sentence: string): OutputFilterResult {
    if (!this.active) return { text: sentence, changed: false };
    const words = this.words.all(sentence);
    const names = this.names.all(sentence);
    if (words.length === 0 && names.length === 0) return { text: sentence, changed: false };
    if (this.o.action === 'skip') return { skip: true, reason: words.length ? 'banned word' : 'banned name' };
    const text = replaceMatches(sentence, mergeMatches([...words, ...names]), this.o.replacement);
    // An empty replacement may leave nothing to say: an empty TtsRequest would read as the turn's end.
    if (!/[\p{L}\p{N}]/u.test(text)) return { skip: true, reason: 'nothing left after replacing' };
    return { text, changed: true };
  }
}

/** The output filter of the moderation settings (plus names banned live). */
export function outputFilterFor(mod: Config['liveChat']['moderation'], liveNames: Iterable<string> = []): OutputFilter {
  return new OutputFilter({ words: mod.bannedWords, names: [...bannedNames(mod.bannedUsers), ...liveNames], action: mod.outputAction, replacement: mod.replacement });
}
