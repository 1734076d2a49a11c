import { describe, expect, it } from 'vitest';
import { newEventId } from '../../shared/bus.js';
import type { AsrResult } from '../../shared/voice.js';
import { handOffOf } from './hand-off.js';

const result = (extra: Partial<AsrResult>): AsrResult => ({
  session_id: 's-asr',
  turn_id: 'turn-1',
  task_id: 'task-1',
  event_id: newEventId(),
  ts: Date.now(),
  marks: { speech_end: 5, transcript: 6 },
  source: 'mic',
  text: '',
  engine: 'pocketsphinx',
  ...extra,
});

describe('asr hand-off', () => {
  it('text becomes the UserInput for the dialog engine, cleaned like typed text, source and marks kept', () => {
    const r = result({ text: ' hello   there ' });
    const h = handOffOf(r, { maxTextChars: 50, transcript: true });
    expect(h.input).toMatchObject({ session_id: 's-asr', turn_id: 'turn-1', task_id: 'task-1', source: 'mic', text: 'hello there', marks: { speech_end: 5, transcript: 6 }, parent_id: r.event_id });
    expect(h.transcript).toMatchObject({ kind: 'transcript', text: ' hello   there ', final: true, source: 'mic', parent_id: r.event_id });
    expect(h.error).toBeUndefined();
    expect(h.result).toBe(r);
    expect(new Set([r.event_id, h.input!.event_id, h.transcript!.event_id]).size).toBe(3);
  });

  it('a long transcript is cut at input.maxTextChars', () => {
    const h = handOffOf(result({ text: 'word '.repeat(40) }), { maxTextChars: 20, transcript: false });
    expect([...h.input!.text].length).toBeLessThanOrEqual(20);
    expect(h.transcript).toBeUndefined();
  });

  it('an engine failure and an empty transcript are one asr error each, and no input', () => {
    const failed = handOffOf(result({ error: 'engine exited (code 1)' }), { maxTextChars: 50, transcript: false });
    expect(failed.input).toBeUndefined();
    expect(failed.error).toMatchObject({ kind: 'error', stage: 'asr', code: 'asr_failed', message: 'speech recognition failed: engine exited (code 1)', task_id: 'task-1' });
    const empty = handOffOf(result({ text: '  ' }), { maxTextChars: 50, transcript: true });
    expect(empty.input).toBeUndefined();
    expect(empty.error).toMatchObject({ stage: 'asr', code: 'audio_silent', message: 'no speech recognised', source: 'mic' });
    // The live mic still tells the dialog engine the utterance was noise.
    expect(empty.transcript).toMatchObject({ kind: 'transcript', text: '  ', final: true });
  });
});
