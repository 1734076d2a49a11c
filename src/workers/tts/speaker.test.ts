import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Channels, newEventId } from '../../shared/bus.js';
import { ConfigSchema } from '../../shared/config.js';
import { nowMs, type TtsChunk, type TtsRequest, type TurnEvent } from '../../shared/voice.js';
import { TtsEngineError, type AudioPiece, type SynthOptions, type TtsEngine } from './engine.js';
import type { TurnLedger } from '../runtime/index.js';
import { TtsSpeaker } from './speaker.js';

/** An engine that yields `pieces` pieces of 100 ms at 16 kHz, `gapMs` apart, honouring the signal. */
class ScriptedEngine implements TtsEngine {
  readonly name = 'scripted';
  calls: string[] = [];
  constructor(private readonly script: { pieces?: number; gapMs?: number; failOn?: string; silentOn?: string } = {}) {}
  async init(): Promise<void> {}
  async dispose(): Promise<void> {}
  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    this.calls.push(text);
    if (text.includes(this.script.failOn ?? '\u0000')) throw new TtsEngineError('scripted failure', 'tts_failed');
    if (text.includes(this.script.silentOn ?? '\u0000')) return;
    for (let i = 0; i < (this.script.pieces ?? 3); i++) {
      if (i > 0 && this.script.gapMs) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, this.script.gapMs);
          opts.signal.addEventListener('abort', () => (clearTimeout(t), reject(opts.signal.reason as Error)), { once: true });
        });
      }
      if (opts.signal.aborted) throw opts.signal.reason as Error;
      yield { samples: new Float32Array(1600).fill(0.2), sampleRate: 16000 };
    }
  }
}

function setup(engine: TtsEngine) {
  const sent: Array<{ channel: string; msg: unknown; at: number }> = [];
  const redis = {
    publish: async (channel: string, message: string) => {
      sent.push({ channel, msg: JSON.parse(message) as unknown, at: performance.now() });
      return 1;
    },
  };
  const speaker = new TtsSpeaker({ engine, redis, log: pino({ level: 'silent' }), tts: ConfigSchema.parse({ dataDir: '/tmp' }).tts });
  const chunks = (turn: string) => sent.filter((s) => s.channel === Channels.taskResponse(turn)).map((s) => s.msg as TtsChunk & Record<string, unknown>);
  const events = (turn: string) => sent.map((s) => s.msg as TurnEvent).filter((e, i) => sent[i]!.channel === Channels.events && e.turn_id === turn);
  return { speaker, sent, chunks, events };
}

function req(turn: string, index: number, text: string, extra: Partial<TtsRequest> = {}): TtsRequest {
  return { session_id: 'sess', turn_id: turn, task_id: turn, event_id: newEventId(), ts: Date.now(), marks: { turn_start: nowMs() }, text, index, last: false, ...extra };
}
const live = () => new AbortController().signal;

describe('TtsSpeaker', () => {
  it('chunks a sentence and closes the turn with end + tts_done; tts marks are set once per turn', async () => {
    const { speaker, chunks, events } = setup(new ScriptedEngine({ pieces: 5 }));
    const [one, two] = [req('t1', 0, 'One.'), req('t1', 1, 'Two.', { last: true })];
    await speaker.handleRequest(one, live());
    await speaker.handleRequest(two, live());
    const c = chunks('t1');
    expect(c.filter((x) => x.index === 0).map((x) => [x.chunk, x.final])).toEqual([[0, false], [1, false], [2, true]]);
    expect(c.at(-1)).toMatchObject({ kind: 'end', index: 2, audio_ms: 1000 });
    // Traceable: each chunk has its own id and names the request it came of.
    expect(new Set(c.map((x) => x.event_id)).size).toBe(c.length);
    expect(c.map((x) => x.parent_id)).toEqual(c.map((x) => (x.index === 0 ? one.event_id : two.event_id)));
    const first = c[0]!.marks;
    expect(c.every((x) => x.marks.first_audio === first.first_audio && x.marks.tts_engine_ms === first.tts_engine_ms)).toBe(true);
    expect(events('t1').map((e) => e.kind)).toEqual(['audio_start', 'tts_done']);
  });

  it('cancel mid-sentence: nothing more is published, no error, no end', async () => {
    const engine = new ScriptedEngine({ pieces: 20, gapMs: 20 });
    const { speaker, chunks, sent } = setup(engine);
    const run = speaker.handleRequest(req('t2', 0, 'Long one.', { last: true }), live());
    await new Promise((r) => setTimeout(r, 70));
    const before = sent.length;
    expect(before).toBeGreaterThan(0);
    const t0 = performance.now();
    speaker.handleControl({ action: 'cancel', session_id: 'sess', turn_id: 't2', ts: Date.now() });
    await run;
    expect(performance.now() - t0).toBeLessThan(50);
    expect(sent.length).toBe(before);
    expect(chunks('t2').some((c) => c.kind !== 'audio' || c.final)).toBe(false);
  });

  it('a stop without turn_id drops queued requests of turns that started before it, not later turns', async () => {
    const engine = new ScriptedEngine();
    const { speaker, chunks } = setup(engine);
    const oldTurn = req('old', 0, 'Queued before the stop.', { marks: { turn_start: nowMs() - 50 } });
    speaker.handleControl({ action: 'stop', session_id: 'sess', ts: Date.now() });
    await new Promise((r) => setTimeout(r, 5));
    await speaker.handleRequest(oldTurn, live());
    await speaker.handleRequest(req('new', 0, 'After the stop.', { last: true, marks: { turn_start: nowMs() } }), live());
    expect(chunks('old')).toEqual([]);
    expect(engine.calls).toEqual(['After the stop.']);
    expect(chunks('new').at(-1)).toMatchObject({ kind: 'end', index: 1 });
    // Another session is untouched by that stop.
    await speaker.handleRequest(req('other', 0, 'Other session.', { session_id: 'sess-2', marks: { turn_start: nowMs() - 100 } }), live());
    expect(chunks('other').length).toBeGreaterThan(0);
  });

  it('a worker stop (job signal) rethrows so the request goes back to the queue, with no error chunk', async () => {
    const { speaker, chunks } = setup(new ScriptedEngine({ pieces: 20, gapMs: 20 }));
    const job = new AbortController();
    const run = speaker.handleRequest(req('t3', 0, 'Interrupted by shutdown.'), job.signal);
    await new Promise((r) => setTimeout(r, 30));
    job.abort(new Error('worker stopping'));
    await expect(run).rejects.toThrow('worker stopping');
    expect(chunks('t3').some((c) => c.kind === 'error')).toBe(false);
  });

  it('engine failures and silent engines become one error chunk each, their only report; the turn still ends', async () => {
    const { speaker, chunks, events } = setup(new ScriptedEngine({ failOn: 'FAIL', silentOn: 'SILENT' }));
    await speaker.handleRequest(req('t4', 0, 'FAIL here.'), live());
    await speaker.handleRequest(req('t4', 1, 'SILENT here.'), live());
    await speaker.handleRequest(req('t4', 2, '', { last: true }), live());
    const c = chunks('t4');
    expect(c.map((x) => [x.kind, x.index])).toEqual([
      ['error', 0],
      ['error', 1],
      ['end', 2],
    ]);
    expect(c[0]!.error).toBe('scripted failure');
    expect(c.slice(0, 2).map((x) => x.code)).toEqual(['tts_failed', 'tts_failed']);
    expect(c[1]!.error).toBe('scripted produced no audio');
    // Every publish of the three requests was awaited: the turn's events are all here, none an error.
    expect(events('t4').map((e) => e.kind)).toEqual(['tts_done']);
  });

  it('keeps its cancel and turn bookkeeping bounded', () => {
    const { speaker } = setup(new ScriptedEngine());
    for (let i = 0; i < 5000; i++) speaker.handleControl({ action: 'cancel', session_id: `s${i}`, turn_id: `t${i}`, ts: Date.now() });
    for (let i = 0; i < 5000; i++) speaker.handleControl({ action: 'stop', session_id: `s${i}`, ts: Date.now() });
    const { ledger } = speaker as unknown as { ledger: TurnLedger };
    expect(ledger.size.cancelled).toBeLessThanOrEqual(1024);
    expect(ledger.size.sessions).toBeLessThanOrEqual(1024);
    expect(speaker.isCancelled({ turn_id: 't4999', session_id: 'x', marks: {}, ts: 0 })).toBe(true);
  });
});
