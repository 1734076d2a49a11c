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

/** The messages a result becomes: the mirror, the transcript (when asked), then the input or the error. */
export interface HandOff {
  result: AsrResult;
  transcript?: TurnEvent;
  input?: UserInput;
  error?: TurnEvent;
}

export function handOffOf(r: AsrResult, o: HandOffOptions): HandOff {
  const out: HandOff = { result: r };
  if (o.transcript) {
    const body: Body<TurnEvent> = { kind: 'transcript', text: r.text, final: true, source: r.source };
    out.transcript = { ...follow(r), ...body };
  }
  const error = (code: typeof ErrorCodes.asrFailed | typeof ErrorCodes.audioSilent, message: string): TurnEvent => ({ ...follow(r), kind: 'error', stage: 'asr', code, message, source: r.source });
  const text = r.error ? '' : cleanAndCut(r.text, o.maxTextChars);
  if (r.error) out.error = error(ErrorCodes.asrFailed, `speech recognition failed: ${r.error}`);
  else if (!text) out.error = error(ErrorCodes.audioSilent, 'no speech recognised');
  else out.input = { ...follow(r), source: r.source, text };
  return out;
}

export async function handOff(redis: Pick<Redis, 'multi'>, r: AsrResult, o: HandOffOptions): Promise<void> {
  const h = handOffOf(r, o);
  const m = redis.multi();
  publish(m, Bus.asrResults, h.result);
  if (h.transcript) publish(m, Bus.events, h.transcript);
  if (h.input) push(m, Bus.dialogInputs, h.input);
  if (h.error) publish(m, Bus.events, h.error);
  await m.exec();
}
