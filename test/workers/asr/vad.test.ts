/**
 * Silero VAD streaming wrapper on flite speech, silence and noise, fed in 20 ms frames as a live
 * microphone would: onset and end timing against the speech's real span, nothing from noise or
 * silence, the utterance cut at maxSpeechMs, flush, and the real-time factor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SileroVad, compactSpeech, speechSegments, type VadEvent, type VadOptions } from '../../../src/workers/asr/vad.js';
import { RATE, SENTENCES, concat, noise, say, silence, speechSpan } from './speech.js';

const OPTS: VadOptions = { threshold: 0.5, minSilenceMs: 300, minSpeechMs: 150, maxSpeechMs: 30_000, preRollMs: 200 };
const FRAME = 320; // 20 ms
const ms = (samples: number) => (samples / RATE) * 1000;

let vad: SileroVad;
beforeAll(async () => {
  vad = await SileroVad.load();
});
afterAll(async () => {
  console.log(`Silero VAD real-time factor over this file: ${vad.realTimeFactor.toFixed(4)} (model time / audio time)`);
  await vad.dispose();
});

async function feed(audio: Float32Array, opts: VadOptions = OPTS, frame = FRAME): Promise<VadEvent[]> {
  const stream = vad.createStream(opts);
  const events: VadEvent[] = [];
  for (let i = 0; i < audio.length; i += frame) events.push(...(await stream.push(audio.subarray(i, i + frame))));
  return events;
}

const marks = (evs: VadEvent[]) => evs.filter((e) => e.kind !== 'audio');

describe('Silero VAD stream', () => {
  it('finds each flite sentence: start near the onset, end decided within minSilenceMs + one window of the end', async () => {
    const lead = silence(700);
    for (const [i, text] of SENTENCES.slice(0, 4).entries()) {
      const speech = say(text, i % 2 ? 'kal16' : 'slt');
      const span = speechSpan(speech, 0.01);
      const onset = lead.length + span.start;
      const end = lead.length + span.end;
      const events = marks(await feed(concat(lead, speech, silence(1200))));
      expect(events.map((e) => e.kind), text).toEqual(['speech_start', 'speech_end']);
      const [start, stop] = events as [Extract<VadEvent, { kind: 'speech_start' }>, Extract<VadEvent, { kind: 'speech_end' }>];
      // The start is dated at the window where speech began, and confirmed minSpeechMs later.
      expect(Math.abs(ms(start.startSample - onset)), text).toBeLessThan(64);
      expect(ms(start.atSample - onset), text).toBeLessThanOrEqual(OPTS.minSpeechMs + 2 * 32);
      // The end of the utterance: decided no later than minSilenceMs + one 32 ms window after the speech.
      const decidedAfter = ms(stop.atSample - end);
      expect(decidedAfter, text).toBeGreaterThanOrEqual(OPTS.minSilenceMs - 32);
      expect(decidedAfter, text).toBeLessThanOrEqual(OPTS.minSilenceMs + 32);
      expect(stop.reason).toBe('silence');
      // The utterance holds the pre-roll, all of the speech, and the silence up to the decision.
      const preRolled = stop.startSample - (stop.atSample - stop.audio.length);
      expect(ms(preRolled)).toBeGreaterThanOrEqual(OPTS.preRollMs! - 32);
      expect(ms(preRolled)).toBeLessThanOrEqual(OPTS.preRollMs! + 64);
      expect(stop.atSample - stop.audio.length).toBeLessThan(onset);
    }
  });

  it('streams the utterance: speech_start carries the audio so far, then one audio event per window', async () => {
    const speech = say(SENTENCES[2], 'slt');
    const events = await feed(concat(silence(500), speech, silence(800)));
    const start = events.find((e) => e.kind === 'speech_start') as Extract<VadEvent, { kind: 'speech_start' }>;
    const end = events.find((e) => e.kind === 'speech_end') as Extract<VadEvent, { kind: 'speech_end' }>;
    const streamed = start.audio.length + events.filter((e) => e.kind === 'audio').reduce((n, e) => n + (e as { pcm: Float32Array }).pcm.length, 0);
    expect(streamed).toBe(end.audio.length);
    // The same samples, in order.
    const joined = concat(start.audio, ...events.filter((e) => e.kind === 'audio').map((e) => (e as { pcm: Float32Array }).pcm));
    expect(joined).toEqual(end.audio);
  });

  it('gives nothing for digital silence, low noise, loud noise or a click', async () => {
    expect(marks(await feed(silence(3000)))).toEqual([]);
    expect(marks(await feed(noise(3000, 0.01)))).toEqual([]);
    expect(marks(await feed(noise(3000, 0.2, 7)))).toEqual([]);
    const click = concat(silence(500), noise(40, 0.8, 3), silence(1000));
    expect(marks(await feed(click))).toEqual([]);
  });

  it('finds speech over background noise', async () => {
    const speech = say(SENTENCES[4], 'rms');
    const bg = noise(500 + (speech.length / RATE) * 1000 + 1200, 0.01, 11);
    const mix = bg.slice();
    const at = Math.round(0.5 * RATE);
    for (let i = 0; i < speech.length; i++) mix[at + i]! += speech[i]!;
    const events = marks(await feed(mix));
    expect(events.map((e) => e.kind)).toEqual(['speech_start', 'speech_end']);
    const end = at + speechSpan(speech, 0.01).end;
    expect(ms((events[1] as { atSample: number }).atSample - end)).toBeLessThanOrEqual(OPTS.minSilenceMs + 32);
  });

  it('cuts a long utterance at maxSpeechMs and goes on with a new one', async () => {
    // Three sentences back to back, their own pauses trimmed: one long utterance.
    const talk = concat(
      ...SENTENCES.slice(0, 3).map((s) => {
        const a = say(s, 'slt');
        const span = speechSpan(a);
        return a.subarray(span.start, span.end);
      }),
    );
    const events = marks(await feed(concat(silence(300), talk, silence(800)), { ...OPTS, maxSpeechMs: 2000 }));
    const ends = events.filter((e) => e.kind === 'speech_end') as Array<Extract<VadEvent, { kind: 'speech_end' }>>;
    expect(ends.length).toBeGreaterThanOrEqual(2);
    expect(ends.slice(0, -1).every((e) => e.reason === 'max')).toBe(true);
    for (const e of ends.filter((x) => x.reason === 'max')) expect(ms(e.atSample - e.startSample)).toBeLessThanOrEqual(2000 + 32);
    // Events alternate start, end, start, end...
    expect(events.map((e) => e.kind)).toEqual(ends.flatMap(() => ['speech_start', 'speech_end']));
  });

  it('flush ends an utterance in progress (the mic stopped mid-sentence); a new stream starts clean', async () => {
    const stream = vad.createStream(OPTS);
    const speech = say(SENTENCES[6], 'awb');
    const half = concat(silence(400), speech.subarray(0, speech.length >> 1));
    const got: VadEvent[] = [];
    for (let i = 0; i < half.length; i += FRAME) got.push(...(await stream.push(half.subarray(i, i + FRAME))));
    expect(marks(got).map((e) => e.kind)).toEqual(['speech_start']);
    const flushed = await stream.flush();
    const end = flushed.find((e) => e.kind === 'speech_end') as Extract<VadEvent, { kind: 'speech_end' }>;
    expect(end.reason).toBe('flush');
    expect(end.atSample).toBe(stream.position);
    expect(marks(await stream.flush())).toEqual([]);
  });

  it('accepts frames of any size with the same result', async () => {
    const audio = concat(silence(500), say(SENTENCES[1], 'slt'), silence(700));
    const a = marks(await feed(audio, OPTS, 320)).map((e) => [e.kind, (e as { atSample: number }).atSample]);
    const b = marks(await feed(audio, OPTS, 777)).map((e) => [e.kind, (e as { atSample: number }).atSample]);
    expect(b).toEqual(a);
  });

  it('splits a recording into speech segments and compacts long pauses', async () => {
    const a = say(SENTENCES[7], 'slt');
    const b = say(SENTENCES[8], 'slt');
    const rec = concat(silence(600), a, silence(2500), b, silence(900));
    const segs = await speechSegments(vad, rec, OPTS);
    expect(segs).toHaveLength(2);
    expect(segs[0]!.end).toBeLessThan(segs[1]!.start);
    const compact = compactSpeech(rec, segs);
    expect(ms(compact.length)).toBeLessThan(ms(rec.length) - 2500);
    expect(ms(compact.length)).toBeGreaterThan(ms(speechSpan(a).end - speechSpan(a).start + speechSpan(b).end - speechSpan(b).start));
    expect(await speechSegments(vad, concat(silence(1000), noise(1000, 0.01)), OPTS)).toEqual([]);
  });
});
