/**
 * Live microphone streams (`fav:mic`): per session a VAD stream and, while the user speaks, an
 * engine stream. Frames of one session are handled strictly in order (a promise chain per session);
 * sessions are independent, and a transcription never holds up the frames behind it.
 *
 *   speech_start (VAD)  -> TurnEvent speech_start (turn '-') at once: barge-in waits on it
 *   while speaking      -> audio into the engine stream; partial transcripts as TurnEvent
 *                          transcript final=false (engines that give them)
 *   speech_end (VAD)    -> a new turn (turn_id = task_id = a UUID): TurnEvent speech_end, then the
 *                          transcript handed off (hand-off.ts): TurnEvent transcript final=true
 *                          ('' when it was noise, so the dialog goes idle) and the UserInput
 *
 * Several asr instances may listen to fav:mic: the first to see a session claims it with
 * `SET fav:asr:owner:<session> <instance> NX PX 10000`, refreshes the claim while frames flow, and
 * the others ignore that session's frames (they look again when the claim may have lapsed).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { newEventId } from '../../shared/bus.js';
import type { Config } from '../../shared/config.js';
import { Bus } from '../../shared/contract.js';
import { nowMs, type AsrResult, type Body, type MicFrame, type TurnEvent, type TurnMessage } from '../../shared/voice.js';
import { s16ToFloat } from '../audio/pcm.js';
import { publish, type Logger } from '../runtime/index.js';
import type { AsrEngine, AsrStream, Transcript } from './engine.js';
import { handOff } from './hand-off.js';
import { VAD_RATE, type SileroVad, type VadEvent, type VadStream } from './vad.js';

export const ownerKey = (session: string) => `fav:asr:owner:${session}`;

export interface MicOptions {
  redis: Redis;
  log: Logger;
  instanceId: string;
  vad: SileroVad;
  engine: AsrEngine;
  settings: Config;
  /** PX of the ownership claim, ms. */
  ownerTtlMs?: number;
  /** A session with no frame for this long is closed (its utterance ends), ms. */
  idleMs?: number;
}

interface Session {
  id: string;
  vad: VadStream;
  chain: Promise<void>;
  owner: 'unknown' | 'mine' | 'theirs';
  ownerCheckedAt: number;
  refreshedAt: number;
  lastFrameAt: number;
  language?: string;
  stream?: AsrStream;
  /** Results are published in the order of the utterances, whichever transcription ends first. */
  results: Promise<void>;
  /** Frames waiting in `chain` (a session ended by 'end' is forgotten only when none wait). */
  queued: number;
}

export class MicSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Set<Promise<void>>();
  private readonly ttl: number;
  private readonly idleMs: number;
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: MicOptions) {
    this.ttl = o.ownerTtlMs ?? 10_000;
    this.idleMs = o.idleMs ?? 30_000;
    this.sweep = setInterval(() => this.closeIdle(), Math.min(10_000, this.idleMs / 2));
    this.sweep.unref();
  }

  /** Number of sessions followed (owned or not). */
  get size(): number {
    return this.sessions.size;
  }

  /** Queues a frame behind the session's earlier ones. */
  handle(frame: MicFrame): Promise<void> {
    if (this.closed) return Promise.resolve();
    let s = this.sessions.get(frame.session_id);
    if (!s) {
      const v = this.o.settings.asr.vad;
      s = {
        id: frame.session_id,
        vad: this.o.vad.createStream({ threshold: v.threshold, minSilenceMs: v.minSilenceMs, minSpeechMs: v.minSpeechMs, maxSpeechMs: v.maxSpeechMs, preRollMs: 200 }),
        chain: Promise.resolve(),
        owner: 'unknown',
        ownerCheckedAt: 0,
        refreshedAt: 0,
        lastFrameAt: Date.now(),
        results: Promise.resolve(),
        queued: 0,
      };
      this.sessions.set(frame.session_id, s);
    }
    const session = s;
    session.lastFrameAt = Date.now();
    session.queued++;
    const run = session.chain.then(() => {
      session.queued--;
      return this.frame(session, frame);
    });
    session.chain = run.catch((e: unknown) => this.o.log.error({ session: session.id, err: (e as Error).message }, 'mic frame failed'));
    return session.chain;
  }

  private async frame(s: Session, f: MicFrame): Promise<void> {
    if (!(await this.owns(s))) {
      if (f.kind === 'end') this.forget(s);
      return;
    }
    if (f.language !== undefined) s.language = f.language;
    switch (f.kind) {
      case 'start':
        s.stream?.cancel();
        s.stream = undefined;
        s.vad.reset();
        return;
      case 'audio': {
        if (!f.pcm_b64) return;
        const pcm = s16ToFloat(Buffer.from(f.pcm_b64, 'base64'));
        this.onEvents(s, await s.vad.push(pcm));
        return;
      }
      case 'end':
        this.onEvents(s, await s.vad.flush());
        s.stream?.cancel();
        s.stream = undefined;
        await this.release(s);
        s.owner = 'unknown';
        this.forget(s);
        return;
    }
  }

  /** Drops the session's state, unless frames of a new stream already wait behind the 'end'. */
  private forget(s: Session): void {
    if (s.queued === 0 && this.sessions.get(s.id) === s) this.sessions.delete(s.id);
  }

  // ---- ownership ------------------------------------------------------------------------------

  private async owns(s: Session): Promise<boolean> {
    const now = Date.now();
    if (s.owner === 'mine') {
      if (now - s.refreshedAt > this.ttl / 3) {
        s.refreshedAt = now;
        // Not awaited: a lapsed claim (null) is taken again on the next frame.
        this.o.redis.set(ownerKey(s.id), this.o.instanceId, 'PX', this.ttl, 'XX').then(
          (r) => {
            if (r === null) s.owner = 'unknown';
          },
          (e: unknown) => this.o.log.warn({ err: (e as Error).message }, 'could not refresh the mic session claim'),
        );
      }
      return true;
    }
    if (s.owner === 'theirs' && now - s.ownerCheckedAt < this.ttl / 3) return false;
    const key = ownerKey(s.id);
    const ok = await this.o.redis.set(key, this.o.instanceId, 'PX', this.ttl, 'NX');
    const mine = ok === 'OK' || (await this.o.redis.get(key)) === this.o.instanceId;
    s.ownerCheckedAt = now;
    if (mine) {
      this.o.log.info({ session: s.id }, 'mic session claimed');
      s.owner = 'mine';
      s.refreshedAt = now;
      return true;
    }
    if (s.owner !== 'theirs') this.o.log.info({ session: s.id }, 'mic session handled by another asr instance');
    s.owner = 'theirs';
    return false;
  }

  private async release(s: Session): Promise<void> {
    if (s.owner !== 'mine') return;
    const key = ownerKey(s.id);
    try {
      if ((await this.o.redis.get(key)) === this.o.instanceId) await this.o.redis.del(key);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'could not release the mic session claim');
    }
  }

  // ---- VAD events -----------------------------------------------------------------------------

  private onEvents(s: Session, events: VadEvent[]): void {
    for (const ev of events) {
      switch (ev.kind) {
        case 'speech_start':
          this.publishEvent(s, '-', {}, { kind: 'speech_start', source: 'mic' });
          s.stream?.cancel();
          s.stream = this.o.engine.openStream?.({
            language: this.language(s),
            onPartial: (text) => this.publishEvent(s, '-', {}, { kind: 'transcript', text, final: false, source: 'mic' }),
          });
          s.stream?.push(ev.audio);
          break;
        case 'audio':
          s.stream?.push(ev.pcm);
          break;
        case 'speech_end':
          this.endUtterance(s, ev);
          break;
      }
    }
  }

  private endUtterance(s: Session, ev: Extract<VadEvent, { kind: 'speech_end' }>): void {
    const turn = randomUUID();
    const marks = { speech_end: nowMs() };
    const audioMs = (ev.audio.length / VAD_RATE) * 1000;
    this.publishEvent(s, turn, marks, { kind: 'speech_end', audio_ms: audioMs, source: 'mic' });
    const stream = s.stream;
    s.stream = undefined;
    const language = this.language(s);
    const transcript = stream ? stream.finish() : this.o.engine.transcribe(ev.audio, { language });
    transcript.catch(() => undefined); // handled below, after the session's earlier results
    const work = s.results
      .then(() => transcript)
      .then(
        (r) => this.publishTranscript(s, turn, marks, r),
        (e: unknown) => this.publishFailure(s, turn, marks, e as Error),
      )
      .catch((e: unknown) => this.o.log.error({ session: s.id, err: (e as Error).message }, 'could not publish a transcript'));
    s.results = work;
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private language(s: Session): string | undefined {
    return (s.language ?? this.o.settings.asr.language) || undefined;
  }

  private async publishTranscript(s: Session, turn: string, marks: Record<string, number>, r: Transcript): Promise<void> {
    const m = { ...marks, transcript: nowMs(), asr_engine_ms: r.engineMs };
    const result: AsrResult = { ...this.envelope(s, turn, m), source: 'mic', text: r.text, engine: this.o.engine.name, ...(r.language ? { language: r.language } : {}) };
    await handOff(this.o.redis, result, { maxTextChars: this.o.settings.input.maxTextChars, transcript: true });
    this.o.log.info({ session: s.id, turn_id: turn, chars: r.text.length, engineMs: Math.round(r.engineMs), asrMs: Math.round(m.transcript - marks.speech_end!) }, 'mic utterance transcribed');
  }

  private async publishFailure(s: Session, turn: string, marks: Record<string, number>, e: Error): Promise<void> {
    this.o.log.warn({ session: s.id, turn_id: turn, err: e.message }, 'mic utterance not transcribed');
    const m = { ...marks, transcript: nowMs() };
    const result: AsrResult = { ...this.envelope(s, turn, m), source: 'mic', text: '', engine: this.o.engine.name, error: e.message };
    await handOff(this.o.redis, result, { maxTextChars: this.o.settings.input.maxTextChars, transcript: true });
  }

  /** A live utterance starts its turn: its messages have no parent. */
  private envelope(s: Session, turn: string, marks: Record<string, number>): TurnMessage {
    return { session_id: s.id, turn_id: turn, task_id: turn, event_id: newEventId(), ts: Date.now(), marks };
  }

  private publishEvent(s: Session, turn: string, marks: Record<string, number>, body: Body<TurnEvent>): void {
    const ev: TurnEvent = { ...this.envelope(s, turn, marks), ...body };
    publish(this.o.redis, Bus.events, ev).catch((e: unknown) => this.o.log.warn({ err: (e as Error).message, kind: body.kind }, 'could not publish a turn event'));
  }

  /** Sessions whose frames stopped without an 'end' frame: their utterance ends now. */
  private closeIdle(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const s of this.sessions.values()) {
      if (s.lastFrameAt >= cutoff) continue;
      if (s.owner !== 'mine') {
        this.sessions.delete(s.id);
        continue;
      }
      this.o.log.info({ session: s.id }, 'mic session idle: closed');
      void this.handle({ session_id: s.id, seq: 0, ts: Date.now(), kind: 'end', sample_rate: 16000 });
    }
  }

  /** Stops taking frames and waits for transcriptions in flight. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    await Promise.allSettled([...this.sessions.values()].map((s) => s.chain));
    await Promise.allSettled([...this.pending]);
    for (const s of this.sessions.values()) {
      s.stream?.cancel();
      await this.release(s);
    }
    this.sessions.clear();
  }
}
