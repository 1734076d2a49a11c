/**
 * Seed tasks and their `/ws/output/{task_id}` sockets. A task exists from `task_id_assigned` on;
 * its ClientEvents are translated to the seed's output messages as they arrive and sent at once
 * when the output socket is there, or buffered (bounded bytes; audio beyond the bound is dropped
 * and said so) until it comes. A task without an output socket is forgotten after the TTL (the
 * seed's 5 minutes).
 *
 * Order on the output socket. We stream, so audio can start before the reply text is complete:
 *   audio_chunk + binary (chunk_id 0, 1, ...)  as each chunk is produced
 *   {"status":"success","content":...}        once, when the whole reply text is known (reply_done),
 *                                              possibly between audio chunks; `audio_present` is true
 *                                              when audio was sent or is still expected
 *   more audio_chunk + binary
 *   {"type":"control","action":"END"}         after the reply text and the last audio chunk (or the
 *                                              turn's end, or a stop); the server then closes the socket
 * Errors arrive as {"status":"error","error":...} in between; a stopped turn gets one and then END.
 */
import type { WebSocket } from 'ws';
import type { DeliveryRouter, Delivered } from './delivery.js';
import type { ResolvedVoiceOptions } from './options.js';

type Frame = string | Buffer;

interface SeedTask {
  id: string;
  socket?: WebSocket;
  frames: Frame[];
  bytes: number;
  chunkId: number;
  contentSent: boolean;
  audioEnded: boolean;
  ended: boolean;
  uploaded: boolean;
  dropped: number;
  timer?: NodeJS.Timeout;
  unroute: () => void;
}

export type AttachResult = 'ok' | 'unknown' | 'taken';

const frameBytes = (f: Frame) => (typeof f === 'string' ? f.length : f.byteLength);

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

  /** At `task_id_assigned`: output for this id is kept from now on. */
  create(id: string): void {
    const task: SeedTask = {
      id,
      frames: [],
      bytes: 0,
      chunkId: 0,
      contentSent: false,
      audioEnded: false,
      ended: false,
      uploaded: false,
      dropped: 0,
      unroute: () => {},
    };
    task.unroute = this.router.onTask(id, (d) => this.onEvent(task, d));
    this.tasks.set(id, task);
    this.arm(task);
  }

  /** The upload was accepted and enqueued: its turn's events will follow. */
  markUploaded(id: string): void {
    const task = this.tasks.get(id);
    if (task) task.uploaded = true;
  }

  /** The input connection closed before its upload completed: an output socket hears why. */
  abandon(id: string): void {
    const task = this.tasks.get(id);
    if (!task || task.uploaded) return;
    if (task.socket) this.fail(id, 'the input connection closed before upload_complete: nothing was queued for this task');
    else this.forget(task);
  }

  /** Ends a task with an error (refused upload, bus unreachable). */
  fail(id: string, message: string): void {
    const task = this.tasks.get(id);
    if (!task || task.ended) return;
    this.emit(task, [JSON.stringify({ status: 'error', error: message })], false);
    this.end(task);
  }

  attach(id: string, socket: WebSocket): AttachResult {
    const task = this.tasks.get(id);
    if (!task) return 'unknown';
    if (task.socket) return 'taken';
    clearTimeout(task.timer);
    task.socket = socket;
    for (const f of task.frames) socket.send(f);
    task.frames = [];
    task.bytes = 0;
    socket.on('close', () => {
      if (task.socket !== socket) return;
      task.socket = undefined;
      if (task.ended) this.forget(task);
      else this.arm(task);
    });
    if (task.ended) this.finish(task);
    return 'ok';
  }

  close(): void {
    for (const task of [...this.tasks.values()]) this.forget(task);
  }

  private onEvent(task: SeedTask, d: Delivered): void {
    if (task.ended) return;
    const e = d.event;
    switch (e.type) {
      case 'audio': {
        const meta = JSON.stringify({ type: 'audio_chunk', task_id: task.id, chunk_id: task.chunkId++, total_chunks: null });
        this.emit(task, [meta, d.audio().pcm], true);
        return;
      }
      case 'reply_done': {
        const audioPresent = task.chunkId > 0 || (e.text.trim() !== '' && !task.audioEnded);
        this.emit(task, [JSON.stringify({ status: 'success', task_id: task.id, content: e.text, audio_present: audioPresent })], false);
        task.contentSent = true;
        if (task.audioEnded) this.end(task);
        return;
      }
      case 'audio_end':
        task.audioEnded = true;
        if (task.contentSent) this.end(task);
        return;
      case 'error':
        this.emit(task, [JSON.stringify({ status: 'error', error: e.message })], false);
        return;
      case 'stop':
        this.emit(task, [JSON.stringify({ status: 'error', error: `the turn was stopped (${e.reason})` })], false);
        this.end(task);
        return;
      case 'turn_end':
        this.end(task);
        return;
      default:
        // transcript, reply_delta, turn_state, emotion: the seed's output protocol has no such messages.
        return;
    }
  }

  private emit(task: SeedTask, frames: Frame[], audio: boolean): void {
    const s = task.socket;
    if (s) {
      if (s.readyState === s.OPEN) for (const f of frames) s.send(f);
      return;
    }
    const size = frames.reduce((n, f) => n + frameBytes(f), 0);
    if (audio && task.bytes + size > this.o.seedBufferBytes) {
      if (task.dropped++ === 0) {
        const msg = `output buffer full (${this.o.seedBufferBytes} bytes) before /ws/output/${task.id} connected: later audio chunks are dropped`;
        task.frames.push(JSON.stringify({ status: 'error', error: msg }));
        this.o.log('warn', 'seed output buffer full: dropping audio', { task_id: task.id });
      }
      return;
    }
    task.frames.push(...frames);
    task.bytes += size;
  }

  private end(task: SeedTask): void {
    if (task.ended) return;
    task.ended = true;
    task.unroute();
    this.emit(task, [JSON.stringify({ type: 'control', action: 'END', task_id: task.id })], false);
    if (task.socket) this.finish(task);
  }

  /** Everything was sent to the attached socket: close it (after the queued frames) and forget. */
  private finish(task: SeedTask): void {
    task.socket?.close(1000, 'END');
    this.forget(task);
  }

  private arm(task: SeedTask): void {
    clearTimeout(task.timer);
    task.timer = setTimeout(() => {
      if (!task.socket) {
        if (task.uploaded) this.o.log('info', 'seed task expired without an output socket', { task_id: task.id, dropped_frames: task.frames.length });
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
