/**
 * The input policy of a busy session: what happens to a typed or chat input that arrives while a
 * turn runs (or while the user is speaking). Pure functions over the session's waiting list, so
 * the rules can be tested without a bus.
 *   queue  the input waits and runs after the current turn, in arrival order
 *   merge  waiting inputs of the same source become one input, one line per message
 *          ("alice: hi\nbob: hello"); a live chat burst becomes a single turn
 *   drop   the input is refused (the caller reports a `busy` error for it)
 * The list holds at most `maxQueue` inputs: past that, the oldest chat input goes first (chat is
 * a stream the streamer did not type), else the oldest input.
 */
import type { DialogSettings } from './knobs.js';
import type { InputSource, UserInput } from '../../shared/voice.js';

export type Policy = 'queue' | 'merge' | 'drop';

export interface Waiting {
  /** The input as it will start (text already merged). Keeps the first input's ids and marks. */
  input: UserInput;
  /** Lines merged so far (merge policy only); empty for a queued input. */
  lines: string[];
}

/**
 * Which setting governs an input of this source while the session is busy. Mic never waits. A `say`
 * (the control API's line for the avatar) always queues: the streamer asked for those exact words.
 */
export function policyFor(source: InputSource, dialog: DialogSettings): Policy {
  if (source === 'say') return 'queue';
  return source === 'chat' ? dialog.chatPolicy : dialog.typedPolicy;
}

/** One line of a merged input: the author's name in front when there is one. */
export function lineOf(input: UserInput): string {
  return input.author ? `${input.author}: ${input.text}` : input.text;
}

export interface AdmitResult {
  /** True when the input was folded into an existing waiting input. */
  merged: boolean;
  /** The turn id of the input it was folded into (when merged). */
  into?: string;
  /** Inputs pushed out by the bound (oldest chat first), to report as busy. */
  evicted: UserInput[];
}

/**
 * Adds `input` to `waiting` under `policy` ('queue' or 'merge'; 'drop' is the caller's business)
 * and enforces `maxQueue`. Mutates `waiting`.
 */
export function admit(waiting: Waiting[], input: UserInput, policy: Exclude<Policy, 'drop'>, maxQueue: number): AdmitResult {
  if (policy === 'merge') {
    // Only into an input that was itself admitted under merge and has the same source.
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i]!;
      if (w.lines.length === 0 || w.input.source !== input.source) continue;
      w.lines.push(lineOf(input));
      const { author: _author, ...rest } = w.input;
      // Several authors: the names are in the text now, so the merged input has no single author.
      w.input = { ...rest, text: w.lines.join('\n') };
      return { merged: true, into: w.input.turn_id, evicted: [] };
    }
    waiting.push({ input, lines: [lineOf(input)] });
  } else {
    waiting.push({ input, lines: [] });
  }
  const evicted: UserInput[] = [];
  while (waiting.length > maxQueue) {
    const chat = waiting.findIndex((w) => w.input.source === 'chat');
    evicted.push(waiting.splice(chat >= 0 ? chat : 0, 1)[0]!.input);
  }
  return { merged: false, evicted };
}
