/**
 * What becomes of a finished utterance, in one MULTI so the messages leave in this order:
 *   asr_results   the AsrResult, kept for the seed's tools (nothing of ours reads it)
 *   fav:events    the final transcript for clients and the dialog engine (when asked: the live
 *                 mic sends one even for noise, so the dialog goes idle; an upload only with text)
 *   then either   the UserInput on fav:dialog:inputs (text cleaned and cut like typed text)
 *   or            one TurnEvent error (stage asr): asr_failed when the engine failed, audio_silent
 *                 when nothing was recognised
 */
import type { Redis } from 'ioredis';
import { Bus } from '../../shared/contract.js';
import { ErrorCodes, follow, type AsrResult, type Body, type TurnEvent, type UserInput } from '../../shared/voice.js';
import { cleanAndCut } from '../input-handler/text.js';
import { publish, push } from '../runtime/index.js';

export interface HandOffOptions {
  /** settings.input.maxTextChars: a transcript is cut there, as typed text is. */
  maxTextChars: number;
  /** Publish the final transcript TurnEvent too. */
  transcript: boolean;
}

/** The turn message that comes of a result: the input for the dialog engine, or the error to report. */
export function outcomeOf(r: AsrResult, maxTextChars: number): { input: UserInput } | { error: TurnEvent } {
  const error = (code: typeof ErrorCodes.asrFailed | typeof ErrorCodes.audioSilent, message: string): { error: TurnEvent } => ({
    error: { ...follow(r), kind: 'error', stage: 'asr', code, message, source: r.source },
  });
  if (r.error) return error(ErrorCodes.asrFailed, `speech recognition failed: ${r.error}`);
  const text = cleanAndCut(r.text, maxTextChars);
  if (!text) return error(ErrorCodes.audioSilent, 'no speech recognised');
  return { input: { ...follow(r), source: r.source, text } };
}

export async function handOff(redis: Pick<Redis, 'multi'>, r: AsrResult, o: HandOffOptions): Promise<void> {
  const m = redis.multi();
  publish(m, Bus.asrResults, r);
  if (o.transcript) {
    const body: Body<TurnEvent> = { kind: 'transcript', text: r.text, final: true, source: r.source };
    publish(m, Bus.events, { ...follow(r), ...body });
  }
  const out = outcomeOf(r, o.maxTextChars);
  if ('input' in out) push(m, Bus.dialogInputs, out.input);
  else publish(m, Bus.events, out.error);
  await m.exec();
}
