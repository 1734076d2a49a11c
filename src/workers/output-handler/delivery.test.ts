/**
 * The rules of OutputHandler (order, gaps, errors, cancel and stop, bounds) with its ClientEvents
 * recorded in memory and fake timers. The worker process on the embedded bus has a smoke test in
 * test/workers/output-handler.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEventId, type ControlEvent } from '../../shared/bus.js';
import { AiResponse, ClientEvent, TtsChunk, TurnEvent } from '../../shared/voice.js';
import { OutputHandler } from './delivery.js';
import { DEFAULT_OUTPUT_KNOBS } from './knobs.js';

const knobs = { ...DEFAULT_OUTPUT_KNOBS, gapMs: 400, maxTurns: 5 };

let out: ClientEvent[];
let h: OutputHandler;
let n = 0;

const newTurn = (session = `s${++n}`) => {
  const id = `t${++n}`;
  return { session_id: session, turn_id: id, task_id: `task-${id}`, marks: { turn_start: Date.now() } as Record<string, number> };
};
type Turn = ReturnType<typeof newTurn>;
const base = (t: Turn) => ({ session_id: t.session_id, turn_id: t.turn_id, task_id: t.task_id, event_id: newEventId(), ts: Date.now(), marks: t.marks });
// Each message is checked against its schema, as the worker parses it off the bus.
const reply = (t: Turn, kind: AiResponse['kind'], extra: Record<string, unknown> = {}) => h.onReply(AiResponse.parse({ ...base(t), kind, text: '', ...extra }));
const pcmOf = (index: number, chunk: number) => Buffer.from(`${index}:${chunk}:`.padEnd(64, 'x')).toString('base64');
const chunk = (t: Turn, index: number, c: number, final: boolean, extra: Record<string, unknown> = {}) =>
  h.onChunk(
    TtsChunk.parse({
      ...base(t),
      kind: 'audio',
      index,
      chunk: c,
      final,
      pcm_b64: pcmOf(index, c),
      sample_rate: 22050,
      envelope: [0.1, 0.5],
      visemes: [{ t_ms: 0, v: 'A' }],
      ...(c === 0 ? { text: `sentence ${index}` } : {}),
      ...extra,
    }),
  );
const ttsError = (t: Turn, index: number) => h.onChunk(TtsChunk.parse({ ...base(t), kind: 'error', index, code: 'tts_unavailable', error: `engine failed on sentence ${index}` }));
const ttsEnd = (t: Turn, sentences: number) => h.onChunk(TtsChunk.parse({ ...base(t), kind: 'end', index: sentences, audio_ms: 1234 }));
const event = (t: Turn, kind: TurnEvent['kind'], extra: Record<string, unknown> = {}) => h.onEvent(TurnEvent.parse({ ...base(t), kind, ...extra }));
const control = (session: string, turnId?: string, action: ControlEvent['action'] = 'cancel', ts = Date.now()) =>
  h.onControl({ action, session_id: session, ts, reason: 'test', ...(turnId ? { turn_id: turnId } : {}) });

const ofTurn = (t: Turn) => out.filter((e) => 'turn_id' in e && e.turn_id === t.turn_id);
const types = (t: Turn) => ofTurn(t).map((e) => (e.type === 'audio' ? `audio${e.index}.${e.chunk}#${e.seq}` : e.type));

beforeEach(() => {
  vi.useFakeTimers();
  out = [];
  h = new OutputHandler({ log: pino({ level: 'silent' }), deliver: (ev) => void out.push(ClientEvent.parse(ev)) }, knobs);
});
afterEach(() => {
  h.dispose();
  vi.useRealTimers();
});

describe('OutputHandler', () => {
  it('delivers a turn in order: transcript, state, deltas, emotion, audio with gap-free seq, reply_done, audio_end, turn_end', () => {
    const t = newTurn();
    event(t, 'transcript', { text: 'hi there', final: true, marks: { ...t.marks, transcript: 1 } });
    event(t, 'turn_state', { state: 'thinking' });
    reply(t, 'delta', { text: 'Hello ' });
    event(t, 'emotion', { emotion: 'joy' });
    reply(t, 'delta', { text: 'world.' });
    reply(t, 'sentence', { text: 'Hello world.', index: 0 });
    chunk(t, 0, 0, false, { marks: { ...t.marks, first_audio: 2 } });
    chunk(t, 0, 1, true);
    reply(t, 'done', { text: 'Hello world.', sentences: 1, marks: { ...t.marks, llm_first_token: 3 } });
    chunk(t, 1, 0, true);
    ttsEnd(t, 2);
    event(t, 'turn_end', { reason: 'done' });
    expect(types(t)).toEqual(['transcript', 'turn_state', 'reply_delta', 'emotion', 'reply_delta', 'audio0.0#0', 'audio0.1#1', 'reply_done', 'audio1.0#2', 'audio_end', 'turn_end']);
    const evs = ofTurn(t);
    const audio = evs.filter((e) => e.type === 'audio');
    // Audio passes through untouched, with the lip-sync data and the sentence text on chunk 0.
    expect(audio.map((a) => a.pcm_b64)).toEqual([pcmOf(0, 0), pcmOf(0, 1), pcmOf(1, 0)]);
    expect(audio[0]).toMatchObject({ task_id: t.task_id, format: 'pcm_s16le', sample_rate: 22050, envelope: [0.1, 0.5], envelope_frame_ms: 20, visemes: [{ t_ms: 0, v: 'A' }], text: 'sentence 0' });
    expect(audio[1]).not.toHaveProperty('text');
    expect(evs.find((e) => e.type === 'audio_end')).toMatchObject({ chunks: 3 });
    // transcript and reply_done carry their marks (the seed's /api/asr reports timings from them).
    expect(evs.find((e) => e.type === 'transcript')).toMatchObject({ text: 'hi there', final: true, marks: { transcript: 1 } });
    expect(evs.find((e) => e.type === 'reply_done')).toMatchObject({ text: 'Hello world.', marks: { llm_first_token: 3 } });
    // turn_end carries the turn's timeline, with the marks seen on the way and `delivered`.
    const end = evs.find((e) => e.type === 'turn_end')!;
    expect(end.type === 'turn_end' && end.marks).toMatchObject({ turn_start: t.marks.turn_start, first_audio: 2, delivered: expect.any(Number) });
  });

  it('puts out-of-order sentences back in order and holds later ones until the gap fills; a chunk played already is not played twice', () => {
    const t = newTurn();
    chunk(t, 1, 0, false);
    chunk(t, 1, 1, true);
    chunk(t, 2, 0, true);
    ttsEnd(t, 3);
    expect(types(t)).toEqual([]);
    chunk(t, 0, 0, false);
    expect(types(t)).toEqual(['audio0.0#0']);
    chunk(t, 0, 1, true);
    expect(types(t)).toEqual(['audio0.0#0', 'audio0.1#1', 'audio1.0#2', 'audio1.1#3', 'audio2.0#4', 'audio_end']);
    // A sentence re-synthesised after a TTS restart.
    chunk(t, 1, 0, false);
    expect(types(t)).toHaveLength(6);
  });

  it('skips a failed sentence, reports its error, drops its late chunk, and still ends the audio', () => {
    const t = newTurn();
    chunk(t, 0, 0, true);
    chunk(t, 2, 0, true);
    ttsError(t, 1);
    chunk(t, 1, 0, true); // a late chunk of the failed sentence
    ttsEnd(t, 3);
    expect(types(t)).toEqual(['audio0.0#0', 'error', 'audio2.0#1', 'audio_end']);
    expect(ofTurn(t).find((e) => e.type === 'error')).toMatchObject({ stage: 'tts', code: 'tts_unavailable', message: 'engine failed on sentence 1', task_id: t.task_id });
  });

  it('forwards errors as they come, each stage reporting a failure once; an error of no turn yet goes out without ids', () => {
    const t = newTurn();
    reply(t, 'delta', { text: 'Let me ' });
    event(t, 'error', { stage: 'llm', code: 'llm_unreachable', message: 'Cannot reach the LLM at http://127.0.0.1:1/v1: is Ollama running?' });
    const other = newTurn(t.session_id);
    event(other, 'error', { stage: 'input', code: 'text_too_long', message: 'Text is longer than 4000 characters.' });
    event(t, 'turn_end', { reason: 'error' });
    expect(types(t)).toEqual(['reply_delta', 'error', 'turn_end']);
    expect(ofTurn(t)[1]).toMatchObject({ stage: 'llm', code: 'llm_unreachable', message: expect.stringMatching(/Ollama/) });
    expect(ofTurn(other)).toEqual([{ type: 'error', session_id: t.session_id, turn_id: other.turn_id, task_id: other.task_id, stage: 'input', code: 'text_too_long', message: 'Text is longer than 4000 characters.' }]);
    h.onEvent({ session_id: t.session_id, turn_id: '-', task_id: '-', event_id: newEventId(), ts: Date.now(), marks: {}, kind: 'error', stage: 'asr', code: 'asr_unavailable', message: 'no ASR engine' });
    expect(out.at(-1)).toEqual({ type: 'error', session_id: t.session_id, stage: 'asr', code: 'asr_unavailable', message: 'no ASR engine' });
  });

  it("a merged input's turn_end (dialog typedPolicy merge) reaches its clients, naming the turn it joined", () => {
    const t = newTurn();
    const into = newTurn(t.session_id);
    event(t, 'turn_end', { reason: 'merged', merged_into: into.turn_id });
    expect(out).toEqual([{ type: 'turn_end', session_id: t.session_id, turn_id: t.turn_id, task_id: t.task_id, reason: 'merged', merged_into: into.turn_id, marks: t.marks }]);
  });

  it('cancel: stop at once, then nothing of the turn but its turn_end (no second stop); late chunks after turn_end are dropped', () => {
    const t = newTurn();
    reply(t, 'delta', { text: 'A long story.' });
    chunk(t, 0, 0, false);
    chunk(t, 1, 0, true); // waiting behind sentence 0
    control(t.session_id, t.turn_id);
    expect(types(t)).toEqual(['reply_delta', 'audio0.0#0', 'stop']);
    expect(out.at(-1)).toMatchObject({ type: 'stop', task_id: t.task_id, reason: 'test' });
    // Everything after the cancel is dropped (the buffered sentence 1 too).
    chunk(t, 0, 1, true);
    reply(t, 'delta', { text: 'more' });
    event(t, 'turn_state', { state: 'speaking' }); // dialog-engine's, published before it saw the cancel
    event(t, 'emotion', { emotion: 'sad' });
    reply(t, 'done', { text: 'A long story. more', sentences: 2 });
    ttsEnd(t, 2);
    // dialog's turn_end cancelled: forwarded, with no second stop.
    event(t, 'turn_end', { reason: 'cancelled' });
    chunk(t, 2, 0, true);
    reply(t, 'delta', { text: 'late' });
    event(t, 'emotion', { emotion: 'joy' });
    vi.advanceTimersByTime(knobs.gapMs);
    expect(types(t)).toEqual(['reply_delta', 'audio0.0#0', 'stop', 'turn_end']);
  });

  it("dialog's turn_end cancelled alone also stops the turn", () => {
    const t = newTurn();
    chunk(t, 0, 0, false);
    event(t, 'turn_end', { reason: 'cancelled' });
    chunk(t, 0, 1, true);
    expect(types(t)).toEqual(['audio0.0#0', 'stop', 'turn_end']);
  });

  it('a turn-less stop stops every active turn of the session; a turn that started before it is dropped on sight; other sessions go on', () => {
    const session = 'stopped';
    const a = newTurn(session);
    const b = newTurn(session);
    const old = newTurn(session); // started before the stop, first heard of after it
    const elsewhere = newTurn();
    for (const t of [a, b, elsewhere]) chunk(t, 0, 0, false);
    vi.advanceTimersByTime(5);
    control(session, undefined, 'stop');
    expect(types(a)).toEqual(['audio0.0#0', 'stop']);
    expect(types(b)).toEqual(['audio0.0#0', 'stop']);
    chunk(old, 0, 0, true);
    reply(old, 'delta', { text: 'stale' });
    event(old, 'emotion', { emotion: 'sad' });
    vi.advanceTimersByTime(5);
    const fresh = newTurn(session);
    chunk(fresh, 0, 0, true);
    chunk(elsewhere, 0, 1, true);
    expect(types(old)).toEqual([]);
    expect(types(fresh)).toEqual(['audio0.0#0']);
    expect(types(elsewhere)).toEqual(['audio0.0#0', 'audio0.1#1']);
    // With nothing in flight, a stop still reaches clients (they may be playing the last turn).
    control('quiet', undefined, 'stop');
    expect(out.at(-1)).toEqual({ type: 'stop', session_id: 'quiet', turn_id: '-', reason: 'test' });
  });

  it('skips a sentence that never comes after gapMs with nothing new, so the rest still plays', () => {
    const t = newTurn();
    chunk(t, 0, 0, true);
    chunk(t, 2, 0, true);
    vi.advanceTimersByTime(knobs.gapMs - 1);
    ttsEnd(t, 3); // anything new for the turn starts the gap time over
    vi.advanceTimersByTime(knobs.gapMs - 1);
    expect(types(t)).toEqual(['audio0.0#0']);
    vi.advanceTimersByTime(1);
    expect(types(t)).toEqual(['audio0.0#0', 'audio2.0#1', 'audio_end']);
  });

  it('bounds the turns it tracks (maxTurns 5): the oldest is forgotten and its late events dropped', () => {
    const first = newTurn();
    reply(first, 'delta', { text: 'first' });
    for (let i = 0; i < 6; i++) reply(newTurn(), 'delta', { text: `t${i}` });
    const last = newTurn();
    reply(last, 'delta', { text: 'last' });
    reply(first, 'delta', { text: 'late' });
    reply(last, 'delta', { text: 'still here' });
    expect(ofTurn(first).map((e) => e.type === 'reply_delta' && e.text)).toEqual(['first']);
    expect(ofTurn(last).map((e) => e.type === 'reply_delta' && e.text)).toEqual(['last', 'still here']);
  });

  it('a cancelled turn whose turn_end never comes is forgotten after cancelKeepMs: what comes of it later, its turn_end too, is dropped', () => {
    const t = newTurn();
    chunk(t, 0, 0, false);
    control(t.session_id, t.turn_id);
    vi.advanceTimersByTime(knobs.cancelKeepMs - 1);
    chunk(t, 0, 1, true);
    expect(types(t)).toEqual(['audio0.0#0', 'stop']);
    vi.advanceTimersByTime(1);
    // Forgotten as ended: nothing of it any more, turn_end included.
    event(t, 'turn_end', { reason: 'cancelled' });
    reply(t, 'delta', { text: 'late' });
    expect(types(t)).toEqual(['audio0.0#0', 'stop']);
  });
});
