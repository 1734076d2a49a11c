/**
 * Routes `fav:deliver` (ordered ClientEvents from output-handler) to the gateway's clients: by
 * session_id to studio session sockets, and by task_id (turn_id for events that carry no task_id;
 * the gateway starts turns with turn_id = task_id) to seed output sockets and /api/asr waiters.
 * Per event: one JSON.parse; the original text is forwarded as-is, and an audio event's metadata
 * and PCM bytes (or its PCM-free timing for view sockets) are produced once, on first use, for
 * every socket that wants them.
 */
import type { ClientEvent } from '../../../shared/voice.js';
import type { VoiceLog } from './options.js';

type AudioEvent = Extract<ClientEvent, { type: 'audio' }>;

export class Delivered {
  private parts?: { meta: string; pcm: Buffer };
  private timingJson?: string;

  constructor(
    /** The message as published (forwarded unchanged for everything but audio). */
    readonly raw: string,
    readonly event: ClientEvent,
  ) {}

  /** For `audio`: the JSON metadata without `pcm_b64`, and the PCM bytes. */
  audio(): { meta: string; pcm: Buffer } {
    if (!this.parts) {
      const { pcm_b64, ...meta } = this.event as AudioEvent;
      this.parts = { meta: JSON.stringify(meta), pcm: Buffer.from(pcm_b64 ?? '', 'base64') };
    }
    return this.parts;
  }

  /** For `audio`: the `audio_timing` event a view socket gets instead (lip-sync data, no PCM). */
  timing(): string {
    if (this.timingJson === undefined) {
      const e = this.event as AudioEvent;
      const samples = this.audio().pcm.byteLength >> 1;
      const timing: Extract<ClientEvent, { type: 'audio_timing' }> = {
        type: 'audio_timing',
        session_id: e.session_id,
        turn_id: e.turn_id,
        task_id: e.task_id,
        seq: e.seq,
        index: e.index,
        chunk: e.chunk,
        duration_ms: e.sample_rate > 0 ? Math.round((samples * 1e6) / e.sample_rate) / 1000 : 0,
        envelope: e.envelope,
        envelope_frame_ms: e.envelope_frame_ms,
        visemes: e.visemes,
        ...(e.text !== undefined ? { text: e.text } : {}),
      };
      this.timingJson = JSON.stringify(timing);
    }
    return this.timingJson;
  }

  /** The task this event belongs to (seed tasks and /api/asr turns), if any. */
  get taskKey(): string | undefined {
    const e = this.event as { task_id?: string; turn_id?: string };
    return e.task_id ?? e.turn_id;
  }
}

export type DeliverListener = (d: Delivered) => void;

export class DeliveryRouter {
  private readonly sessions = new Map<string, Set<DeliverListener>>();
  private readonly tasks = new Map<string, Set<DeliverListener>>();
  private readonly watchers = new Set<DeliverListener>();
  private malformedLogged = 0;

  constructor(private readonly log: VoiceLog) {}

  onSession(sessionId: string, listener: DeliverListener): () => void {
    return add(this.sessions, sessionId, listener);
  }

  onTask(taskId: string, listener: DeliverListener): () => void {
    return add(this.tasks, taskId, listener);
  }

  /** Every event, whatever its session or task (the gateway's own bookkeeping, e.g. turn timings). */
  watch(listener: DeliverListener): () => void {
    this.watchers.add(listener);
    return () => void this.watchers.delete(listener);
  }

  /** Sessions and tasks with listeners (for tests and health views). */
  get counts(): { sessions: number; tasks: number } {
    return { sessions: this.sessions.size, tasks: this.tasks.size };
  }

  dispatch(raw: string): void {
    let event: unknown;
    try {
      event = JSON.parse(raw);
    } catch {
      return this.malformed('not JSON', raw);
    }
    // Produced by our own output-handler: a shape check is enough here (validated at the edges).
    const e = event as { type?: unknown; session_id?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || typeof e.session_id !== 'string') {
      return this.malformed('no type or session_id', raw);
    }
    const d = new Delivered(raw, event as ClientEvent);
    if (this.watchers.size > 0) this.call(this.watchers, d);
    const bySession = this.sessions.get(e.session_id);
    if (bySession) this.call(bySession, d);
    const key = d.taskKey;
    const byTask = key === undefined ? undefined : this.tasks.get(key);
    if (byTask) this.call(byTask, d);
  }

  private call(listeners: Set<DeliverListener>, d: Delivered): void {
    for (const l of listeners) {
      try {
        l(d);
      } catch (err) {
        this.log('error', 'a delivery listener failed', { error: (err as Error).message, type: d.event.type });
      }
    }
  }

  private malformed(why: string, raw: string): void {
    if (this.malformedLogged++ % 100 === 0) this.log('warn', `ignored a malformed fav:deliver message (${why})`, { head: raw.slice(0, 120) });
  }
}

function add(map: Map<string, Set<DeliverListener>>, key: string, listener: DeliverListener): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    const s = map.get(key);
    if (!s) return;
    s.delete(listener);
    if (s.size === 0) map.delete(key);
  };
}
