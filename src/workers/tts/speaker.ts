/**
 * The tts service's work, apart from the worker runtime: one `TtsRequest` (a sentence) at a time
 * from the queue, control events (cancel / stop) as they arrive.
 *
 * Per sentence, on `task_response:{task_id}`: `TtsChunk` 'audio' chunks (first ~100 ms, then
 * ~200 ms; `chunk` from 0, `final` on the last, text on chunk 0, envelope, visemes with
 * sentence-relative `t_ms` on the chunk they start in). A sentence with nothing to pronounce gets
 * one 'audio' chunk without PCM (final), so the output side's ordering moves past its index.
 * An engine failure gives one 'error' chunk (after a final chunk with whatever audio had arrived),
 * the failure's only report: output-handler skips the sentence and tells clients; the turn goes on. After the request with `last`: an 'end'
 * chunk (`index` = sentences, `audio_ms` = total) and a TurnEvent tts_done.
 * The turn's first audio chunk also sends TurnEvent audio_start (marks tts_start, tts_engine_ms,
 * first_audio), and those marks ride on every later message of the turn.
 *
 * Cancellation (the runtime's TurnLedger rule): a cancel with turn_id drops that turn; a cancel
 * without one (and any stop) drops the session's turns that started before it. The sentence in flight is aborted at once (the engine stops, no
 * further chunk is published); queued requests of the turn are acked and skipped; no 'end' is sent.
 * Several tts instances may share the queue: output-handler orders chunks by index, but `audio_ms`
 * and tts_done then count only what this instance spoke.
 */
import type { Redis } from 'ioredis';
import type { ControlEvent } from '../../shared/bus.js';
import type { Config } from '../../shared/config.js';
import { Bus } from '../../shared/contract.js';
import { ENVELOPE_FRAME_MS, ErrorCodes, follow, nowMs, type Body, type Marks, type TtsChunk, type TtsRequest, type TurnEvent } from '../../shared/voice.js';
import { envelope, floatToS16 } from '../audio/pcm.js';
import { TurnLedger, publish, type Logger } from '../runtime/index.js';
import { Chunker, type PcmChunk } from './chunker.js';
import { TtsEngineError, defaultVoice, type TtsEngine } from './engine.js';
import { isSpeakable, sanitiseForSpeech } from './sanitise.js';

/** The abort reason of a cancelled sentence (one instance: its stack says nothing useful). */
const CANCELLED = new Error('turn cancelled');

/**
 * Aborts with no stack traces captured for the errors the abort listeners create (the HTTP
 * client's abort errors, whose `stack` stream teardown reads at once). Formatting those stacks
 * through source maps (tsx) blocked the event loop 20-100 ms on a process's first cancel; with
 * no frames it is ~1 ms.
 */
function abortQuickly(ac: AbortController, reason: Error): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    ac.abort(reason);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const MAX_TURNS = 256;

interface TurnState {
  /** This stage's marks (tts_start, tts_engine_ms, first_audio), merged into every message. */
  marks: Marks;
  audioMs: number;
}

interface InFlight {
  req: TtsRequest;
  ac: AbortController;
  cancelledAt?: number;
}

export interface SpeakerOptions {
  engine: TtsEngine;
  redis: Pick<Redis, 'publish'>;
  log: Logger;
  tts: Config['tts'];
  chunking?: { firstMs?: number; chunkMs?: number };
}

export class TtsSpeaker {
  private readonly turns = new Map<string, TurnState>();
  private readonly ledger = new TurnLedger();
  private current: InFlight | undefined;
  private readonly voice: string;

  constructor(private readonly o: SpeakerOptions) {
    this.voice = defaultVoice(o.tts);
  }

  // -------------------------------------------------------------------------------------------
  // Control

  handleControl(ev: ControlEvent): void {
    const heard = nowMs();
    this.ledger.onControl(ev);
    const cur = this.current;
    if (cur && !cur.ac.signal.aborted && this.isCancelled(cur.req)) {
      cur.cancelledAt = heard;
      abortQuickly(cur.ac, CANCELLED);
      // heard_ms: publish (ev.ts, ms clock) to receipt; abort_ms: the engine's own stop (closing the request, ending the thread).
      this.o.log.info(
        { turn_id: cur.req.turn_id, index: cur.req.index, action: ev.action, heard_ms: Math.max(0, Math.round(heard - ev.ts)), abort_ms: round2(nowMs() - heard) },
        'tts: sentence in flight aborted',
      );
    }
  }

  isCancelled(req: Pick<TtsRequest, 'turn_id' | 'session_id' | 'marks' | 'ts'>): boolean {
    return this.ledger.isCancelled(req);
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  async handleRequest(req: TtsRequest, jobSignal: AbortSignal): Promise<void> {
    if (this.isCancelled(req)) {
      this.o.log.debug({ turn_id: req.turn_id, index: req.index }, 'tts: request of a cancelled turn skipped');
      if (req.last) this.turns.delete(req.turn_id);
      return;
    }
    const turn = this.turnOf(req);
    const raw = req.text.trim();
    const text = sanitiseForSpeech(raw);
    const publishes: Promise<unknown>[] = [];
    if (isSpeakable(text)) {
      await this.speak(req, text, turn, jobSignal, publishes);
    } else if (raw) {
      // Nothing to pronounce ("😀", "..."): an empty final chunk keeps the order moving downstream.
      this.o.log.debug({ turn_id: req.turn_id, index: req.index }, 'tts: nothing speakable in the sentence');
      publishes.push(this.publishChunk(req, turn, { kind: 'audio', index: req.index, chunk: 0, final: true, text: raw, envelope: [], visemes: [] }));
    }
    if (req.last && !this.isCancelled(req)) {
      const sentences = raw ? req.index + 1 : req.index;
      const audio_ms = Math.round(turn.audioMs);
      publishes.push(this.publishChunk(req, turn, { kind: 'end', index: sentences, audio_ms }));
      publishes.push(this.publishEvent(req, turn, { kind: 'tts_done', sentences, audio_ms }));
      this.turns.delete(req.turn_id);
      this.o.log.info({ turn_id: req.turn_id, sentences, audio_ms, marks: turn.marks }, 'tts: turn done');
    }
    await Promise.all(publishes);
  }

  private async speak(req: TtsRequest, text: string, turn: TurnState, jobSignal: AbortSignal, publishes: Promise<unknown>[]): Promise<void> {
    const { engine, log } = this.o;
    const ac = new AbortController();
    const inflight: InFlight = { req, ac };
    this.current = inflight;
    const signal = AbortSignal.any([jobSignal, ac.signal]);
    const chunker = new Chunker(this.o.chunking);
    const started = nowMs();
    turn.marks.tts_start ??= started;
    let firstPieceAt: number | undefined;
    let published = 0;
    const emit = (c: PcmChunk) => {
      // Checked per chunk: once a cancel is heard nothing more of the turn goes out.
      if (signal.aborted) return;
      publishes.push(this.publishAudio(req, turn, c, text));
      published++;
    };
    try {
      for await (const piece of engine.synthesize(text, { voice: this.voice, rate: this.o.tts.rate, emotion: req.emotion, signal })) {
        if (signal.aborted) break;
        if (firstPieceAt === undefined) {
          firstPieceAt = nowMs();
          turn.marks.tts_engine_ms ??= Math.round((firstPieceAt - started) * 100) / 100;
        }
        for (const c of chunker.push(piece)) emit(c);
      }
      if (signal.aborted) throw signal.reason;
      const last = chunker.finish();
      if (!last) throw new TtsEngineError(`${engine.name} produced no audio`);
      emit(last);
      log.debug(
        { turn_id: req.turn_id, index: req.index, chunks: published, engine_ms: round2((firstPieceAt ?? started) - started), total_ms: round2(nowMs() - started) },
        'tts: sentence spoken',
      );
    } catch (e) {
      if (jobSignal.aborted) throw e; // worker stopping: the runtime puts the request back
      if (ac.signal.aborted) {
        log.info({ turn_id: req.turn_id, index: req.index, chunks: published, abort_ms: round2(nowMs() - (inflight.cancelledAt ?? nowMs())) }, 'tts: sentence cancelled');
        return;
      }
      const err = e instanceof TtsEngineError ? e : new TtsEngineError(`${engine.name} failed: ${(e as Error).message}`);
      log.warn({ turn_id: req.turn_id, index: req.index, err: err.message, code: err.code }, 'tts: sentence failed');
      const rest = chunker.finish();
      if (rest) emit(rest);
      const code = err.code ?? ErrorCodes.ttsFailed;
      publishes.push(this.publishChunk(req, turn, { kind: 'error', index: req.index, error: err.message, code }));
    } finally {
      if (this.current === inflight) this.current = undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Publishing

  private publishAudio(req: TtsRequest, turn: TurnState, c: PcmChunk, text: string): Promise<unknown> {
    const first = turn.marks.first_audio === undefined;
    if (first) turn.marks.first_audio = nowMs();
    turn.audioMs += c.durationMs;
    const p = this.publishChunk(req, turn, {
      kind: 'audio',
      index: req.index,
      chunk: c.chunk,
      final: c.final,
      ...(c.chunk === 0 ? { text } : {}),
      pcm_b64: floatToS16(c.samples).toString('base64'),
      sample_rate: c.sampleRate,
      audio_ms: round2(c.durationMs),
      envelope: envelope(c.samples, c.sampleRate, ENVELOPE_FRAME_MS),
      visemes: c.visemes,
    });
    if (!first) return p;
    return Promise.all([p, this.publishEvent(req, turn, { kind: 'audio_start' })]);
  }

  private publishChunk(req: TtsRequest, turn: TurnState, body: Body<TtsChunk>): Promise<unknown> {
    const msg: TtsChunk = { ...follow(req, { ...req.marks, ...turn.marks }), engine: this.o.engine.name, ...body };
    return publish(this.o.redis, Bus.taskResponse, msg);
  }

  private publishEvent(req: TtsRequest, turn: TurnState, body: Body<TurnEvent>): Promise<unknown> {
    return publish(this.o.redis, Bus.events, { ...follow(req, { ...req.marks, ...turn.marks }), ...body });
  }

  // -------------------------------------------------------------------------------------------
  // Bookkeeping

  private turnOf(req: TtsRequest): TurnState {
    let t = this.turns.get(req.turn_id);
    if (!t) {
      t = { marks: {}, audioMs: 0 };
      this.turns.set(req.turn_id, t);
      if (this.turns.size > MAX_TURNS) this.turns.delete(this.turns.keys().next().value!);
    }
    return t;
  }

}

const round2 = (n: number) => Math.round(n * 100) / 100;
