/**
 * Seed tasks and their `/ws/output/{task_id}` sockets, speaking what the seed's front end
 * (`useApi.js`) waits for. A task exists from `task_id_assigned` on; its turn's ClientEvents are
 * collected (reply text, transcript, PCM) and, once the turn is complete, sent in one go:
 *   {"status":"success","task_id","content","audio_present",...}  the reply text
 *   {"type":"audio_chunk","task_id","chunk_id":N,"total_chunks":M} + one binary frame, N < M
 *                                                 the reply's audio as one WAV file (seed-wav.ts)
 *   {"type":"audio_complete","task_id"}          after the last chunk (only when audio_present)
 * then the server closes the socket (1000). The client resets its audio state on `success`, so
 * nothing of the audio may come before it: the seed sent whole files, after the text.
 * A failed, refused or stopped task gets {"status":"error","task_id","error"} and the close.
 * Complete: reply_done and audio_end both seen, or turn_end, or a stop. A turn that ended `merged`
 * (its input folded into a waiting turn, dialog.typedPolicy `merge`) answers with that turn's reply. Results wait for a late
 * output socket until the TTL (the seed's 5 minutes); the PCM kept per task is bounded.
 */
import type { WebSocket } from 'ws';
import type { DeliveryRouter, Delivered } from './delivery.js';
import type { ResolvedVoiceOptions } from './options.js';
import { resampleS16, wavFrames } from './seed-wav.js';

type Frame = string | Buffer;

interface SeedTask {
  id: string;
  session: string;
  socket?: WebSocket;
  inputMode?: 'text' | 'audio';
  reply?: string;
  transcript?: string;
  pcm: Buffer[];
  pcmBytes: number;
  sampleRate: number;
  audioEnded: boolean;
  errors: string[];
  truncated: boolean;
  uploaded: boolean;
  /** The frames to send, once the task is complete. */
  result?: Frame[];
  timer?: NodeJS.Timeout;
  unroute: () => void;
}

export type AttachResult = 'ok' | 'unknown' | 'taken';

export class SeedTaskStore {
  private readonly tasks = new Map<string, SeedTask>();

  constructor(
    private readonly router: DeliveryRouter,
    private readonly o: ResolvedVoiceOptions,
  ) {}

  get size(): number {
    return this.tasks.size;
  }

  get full(): boolean {
    return this.tasks.size >= this.o.maxSeedTasks;
  }

  has(id: string): boolean {
    return this.tasks.has(id);
  }

  /** The session a task's turn runs in (the task id itself unless the client named one). */
  sessionOf(id: string): string | undefined {
    return this.tasks.get(id)?.session;
  }

  /** At `task_id_assigned`: output for this id is kept from now on. */
  create(id: string, session: string): void {
    const task: SeedTask = {
      id,
      session,
      pcm: [],
      pcmBytes: 0,
      sampleRate: 0,
      audioEnded: false,
      errors: [],
      truncated: false,
      uploaded: false,
      unroute: () => {},
    };
    task.unroute = this.router.onTask(id, (d) => this.onEvent(task, d));
    this.tasks.set(id, task);
    this.arm(task);
  }

  /** The upload was accepted and enqueued: its turn's events will follow. */
  markUploaded(id: string, mode: 'text' | 'audio', text?: string): void {
    const task = this.tasks.get(id);
    if (!task) return;
    task.uploaded = true;
    task.inputMode = mode;
    // As the seed: the transcript of a typed turn is the text itself.
    if (text !== undefined) task.transcript = text;
  }

  /** The input connection closed before its upload completed: an output socket hears why. */
  abandon(id: string): void {
    const task = this.tasks.get(id);
    if (!task || task.uploaded) return;
    if (task.socket) this.fail(id, 'the input connection closed before upload_complete: nothing was queued for this task');
    else this.forget(task);
  }

  /** Ends a task with an error (refused upload, bus unreachable): the output socket hears it and closes. */
  fail(id: string, message: string): void {
    const task = this.tasks.get(id);
    if (!task || task.result) return;
    this.complete(task, [this.errorFrame(task, message)]);
  }

  attach(id: string, socket: WebSocket): AttachResult {
    const task = this.tasks.get(id);
    if (!task) return 'unknown';
    if (task.socket) return 'taken';
    clearTimeout(task.timer);
    task.socket = socket;
    socket.on('close', () => {
      if (task.socket !== socket) return;
      task.socket = undefined;
      // Before its result: the task waits (TTL) for the client to reconnect.
      if (task.result) this.forget(task);
      else this.arm(task);
    });
    if (task.result) this.send(task);
    return 'ok';
  }

  close(): void {
    for (const task of [...this.tasks.values()]) this.forget(task);
  }

  private onEvent(task: SeedTask, d: Delivered): void {
    if (task.result) return;
    const e = d.event;
    switch (e.type) {
      case 'audio':
        return this.addAudio(task, d.audio().pcm, e.sample_rate);
      case 'transcript':
        if (e.final) task.transcript = e.text;
        return;
      case 'reply_done':
        task.reply = e.text;
        if (task.audioEnded) this.succeed(task);
        return;
      case 'audio_end':
        task.audioEnded = true;
        if (task.reply !== undefined) this.succeed(task);
        return;
      case 'error':
        // Not final by itself (a sentence tts could not speak): the turn's end decides.
        if (task.errors.length < 8) task.errors.push(e.message);
        return;
      case 'stop':
        return this.complete(task, [this.errorFrame(task, `the turn was stopped (${e.reason})`)]);
      case 'turn_end':
        if (e.reason === 'merged' && e.merged_into && e.merged_into !== task.id && task.reply === undefined) {
          // This input was folded into a waiting turn that answers it too: wait for that turn's reply.
          task.unroute();
          task.unroute = this.router.onTask(e.merged_into, (next) => this.onEvent(task, next));
          return;
        }
        if (e.reason === 'cancelled') return this.complete(task, [this.errorFrame(task, 'the turn was cancelled')]);
        if (task.reply !== undefined || task.errors.length === 0) return this.succeed(task);
        return this.complete(task, [this.errorFrame(task, task.errors.join('; '))]);
      default:
        // reply_delta, turn_state, emotion: the seed's output protocol has no such messages.
        return;
    }
  }

  private addAudio(task: SeedTask, pcm: Buffer, rate: number): void {
    if (task.sampleRate === 0) task.sampleRate = rate;
    const bytes = resampleS16(pcm, rate, task.sampleRate);
    if (task.pcmBytes + bytes.byteLength > this.o.seedBufferBytes) {
      if (!task.truncated) this.o.log('warn', 'seed reply audio over the buffer limit: the rest is cut', { task_id: task.id, limit: this.o.seedBufferBytes });
      task.truncated = true;
      return;
    }
    task.pcm.push(bytes);
    task.pcmBytes += bytes.byteLength;
  }

  private succeed(task: SeedTask): void {
    const audio = task.pcmBytes > 0 ? wavFrames(task.pcm, task.sampleRate) : [];
    const frames: Frame[] = [
      JSON.stringify({
        status: 'success',
        task_id: task.id,
        content: task.reply ?? '',
        audio_present: audio.length > 0,
        transcript: task.transcript ?? null,
        input_mode: task.inputMode ?? null,
      }),
    ];
    audio.forEach((bytes, i) => {
      frames.push(JSON.stringify({ type: 'audio_chunk', task_id: task.id, chunk_id: i, total_chunks: audio.length }), bytes);
    });
    if (audio.length > 0) frames.push(JSON.stringify({ type: 'audio_complete', task_id: task.id }));
    this.complete(task, frames);
  }

  private errorFrame(task: SeedTask, message: string): string {
    return JSON.stringify({ status: 'error', task_id: task.id, error: message });
  }

  private complete(task: SeedTask, frames: Frame[]): void {
    task.result = frames;
    task.pcm = [];
    task.unroute();
    if (task.socket) this.send(task);
    else this.arm(task);
  }

  /** Sends the result to the attached socket, closes it once sent, and forgets the task. */
  private send(task: SeedTask): void {
    const s = task.socket!;
    if (s.readyState === s.OPEN) {
      for (const f of task.result!) s.send(f);
      s.close(1000, 'done');
    }
    this.forget(task);
  }

  private arm(task: SeedTask): void {
    clearTimeout(task.timer);
    task.timer = setTimeout(() => {
      if (!task.socket) {
        if (task.uploaded) this.o.log('info', 'seed task expired without an output socket', { task_id: task.id, finished: !!task.result });
        this.forget(task);
      }
    }, this.o.seedTaskTtlMs);
    task.timer.unref();
  }

  private forget(task: SeedTask): void {
    clearTimeout(task.timer);
    task.unroute();
    if (this.tasks.get(task.id) === task) this.tasks.delete(task.id);
  }
}
