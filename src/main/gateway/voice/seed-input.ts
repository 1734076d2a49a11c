/**
 * One seed `/ws/input` connection: the chunked upload protocol of the seed, one task per connection
 * as in the seed (after `upload_processed` the client opens a new connection for its next input).
 *   server: {"type":"system","action":"task_id_assigned","task_id"}
 *   client: {"type":"text"|"audio","chunk_id":N,"action":"data_chunk"} then one binary frame, N = 0, 1, ...
 *   server: File chunk received               (plain text, after each accepted binary frame)
 *   client: {"action":"upload_complete"}
 *   server: {"type":"system","action":"upload_processed","status":"queued","task_id"}
 * An out-of-order chunk is answered in the seed's plain text, `Chunk ID mismatch: expected N, got M`
 * (its client matches the prefix); every other refusal is {"status":"error","error":"..."} and the
 * socket stays open. A refused upload (too large, bad text, the server's upload budget spent) also
 * ends the task, so its output socket hears the error and closes.
 * Text is the UTF-8 of the concatenated chunks (source 'seed'); audio is the concatenated bytes
 * (source 'upload'), its format sniffed by input-handler (a `content_type` field in the metadata is
 * passed on when a client sends one).
 */
import type { RawData, WebSocket } from 'ws';
import { Queues } from '../../../shared/bus.js';
import type { VoiceBus } from './bus-link.js';
import { inputTask } from './messages.js';
import type { ResolvedVoiceOptions } from './options.js';
import type { SeedTaskStore } from './seed-tasks.js';

interface Awaiting {
  chunkId: number;
  /** The metadata was refused: its binary frame is read and dropped. */
  skip: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The seed's acknowledgement of each binary chunk, word for word (its client compares it). */
export const CHUNK_ACK = 'File chunk received';

/**
 * Bytes held by unfinished uploads across every `/ws/input` socket: each socket's upload is
 * bounded by input.maxBytes, and this bounds their sum, so many sockets that never complete
 * cannot fill the core's memory.
 */
export class UploadBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class SeedInputConnection {
  private expected = 0;
  private type: 'text' | 'audio' | undefined;
  private contentType: string | undefined;
  private awaiting: Awaiting | undefined;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  /** Set once the upload was queued, or refused for good: further chunks are answered with it. */
  private over: string | undefined;

  constructor(
    private readonly socket: WebSocket,
    readonly taskId: string,
    private readonly sessionId: string,
    private readonly bus: VoiceBus,
    private readonly store: SeedTaskStore,
    private readonly o: ResolvedVoiceOptions,
    private readonly budget: UploadBudget,
  ) {
    this.send({ type: 'system', action: 'task_id_assigned', task_id: taskId });
    socket.on('message', (data, isBinary) => this.onMessage(toBuffer(data), isBinary));
    socket.on('close', () => {
      this.drop();
      this.store.abandon(taskId);
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.onBinary(data);
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.error('invalid JSON: send {"type":"text"|"audio","chunk_id":N,"action":"data_chunk"} or {"action":"upload_complete"}');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.error('expected a JSON object with an "action"');
    const m = msg as Record<string, unknown>;
    if (m.action === 'data_chunk') return this.onChunkMeta(m);
    if (m.action === 'upload_complete') return void this.onComplete();
    this.error(`unknown action ${JSON.stringify(m.action ?? null)}: expected "data_chunk" or "upload_complete"`);
  }

  private onChunkMeta(m: Record<string, unknown>): void {
    if (this.over) return this.error(this.over);
    if (this.awaiting && !this.awaiting.skip) {
      this.error(`chunk ${this.awaiting.chunkId} had no binary frame: its metadata is dropped`);
      this.awaiting = undefined;
    }
    const type = m.type;
    const id = m.chunk_id;
    if (type !== 'text' && type !== 'audio') {
      this.awaiting = { chunkId: -1, skip: true };
      return this.error(`invalid chunk type ${JSON.stringify(type ?? null)}: expected "text" or "audio"`);
    }
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      this.awaiting = { chunkId: -1, skip: true };
      return this.error(`invalid chunk_id ${JSON.stringify(id ?? null)}: expected an integer counting from 0`);
    }
    if (id !== this.expected) {
      this.awaiting = { chunkId: id, skip: true };
      return this.sendText(`Chunk ID mismatch: expected ${this.expected}, got ${id}`);
    }
    if (this.type && type !== this.type) {
      this.awaiting = { chunkId: id, skip: true };
      return this.error(`chunk ${id} is ${type} but this upload is ${this.type}: one upload has one type`);
    }
    if (this.chunks.length >= this.o.maxChunks) return this.refuse(`too many chunks: at most ${this.o.maxChunks} per upload`);
    this.type = type;
    const ct = m.content_type ?? m.contentType;
    if (typeof ct === 'string' && ct.length > 0 && ct.length <= 200) this.contentType = ct;
    this.awaiting = { chunkId: id, skip: false };
  }

  private onBinary(data: Buffer): void {
    const awaiting = this.awaiting;
    if (!awaiting) return this.error(this.over ?? 'binary frame without data_chunk metadata before it');
    this.awaiting = undefined;
    if (awaiting.skip) return; // its metadata was refused above
    const limit = this.o.input.maxBytes;
    if (this.bytes + data.byteLength > limit) {
      return this.refuse(`upload too large: more than ${limit} bytes (the limit is settings input.maxBytes)`);
    }
    if (!this.budget.take(data.byteLength)) {
      this.o.log('warn', 'seed upload refused: the budget for unfinished uploads is spent', { task_id: this.taskId, limit: this.budget.limit });
      return this.refuse(
        `the server is holding too many unfinished uploads (${this.budget.limit} bytes in all): complete or close other /ws/input uploads and try again`,
      );
    }
    this.chunks.push(data);
    this.bytes += data.byteLength;
    this.expected++;
    this.sendText(CHUNK_ACK);
  }

  private async onComplete(): Promise<void> {
    if (this.over) return this.error(this.over);
    if (this.awaiting && !this.awaiting.skip) return this.error(`upload_complete before the binary frame of chunk ${this.awaiting.chunkId}`);
    if (this.chunks.length === 0 || !this.type) return this.error('upload_complete without any data: send data_chunk metadata and one binary frame per chunk first');
    const bytes = Buffer.concat(this.chunks, this.bytes);
    this.drop();
    let task;
    if (this.type === 'text') {
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch {
        return this.refuse('the text is not valid UTF-8');
      }
      text = text.trim();
      if (text === '') return this.refuse('the text is empty');
      const max = this.o.input.maxTextChars;
      if (text.length > max) return this.refuse(`text too long: ${text.length} characters, the limit is ${max} (settings input.maxTextChars)`);
      task = inputTask({ session_id: this.sessionId, task_id: this.taskId, type: 'text', source: 'seed', text });
    } else {
      task = inputTask({
        session_id: this.sessionId,
        task_id: this.taskId,
        type: 'audio',
        source: 'upload',
        audio_b64: bytes.toString('base64'),
        ...(this.contentType ? { content_type: this.contentType } : {}),
      });
      // The end of an uploaded file is the end of the user's speech.
      task.marks.speech_end = task.marks.input;
    }
    this.over = `this connection's upload is complete (task ${this.taskId}): open a new /ws/input connection for the next input`;
    this.store.markUploaded(this.taskId, this.type, task.text);
    try {
      await this.bus.push(Queues.input, task);
    } catch (err) {
      const msg = `the pipeline is unreachable (bus: ${(err as Error).message}); nothing was queued`;
      this.store.fail(this.taskId, msg);
      return this.error(msg);
    }
    this.send({ type: 'system', action: 'upload_processed', status: 'queued', task_id: this.taskId });
  }

  /** Refuses the whole upload: this connection takes no more chunks and the task ends with the error. */
  private refuse(message: string): void {
    this.over = `${message}; this upload was refused: open a new /ws/input connection`;
    this.drop();
    this.awaiting = undefined;
    this.store.fail(this.taskId, message);
    this.error(message);
  }

  /** Lets go of the chunks held so far and gives their bytes back to the budget. */
  private drop(): void {
    this.chunks.length = 0;
    this.budget.give(this.bytes);
    this.bytes = 0;
  }

  private sendText(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  private error(message: string): void {
    this.send({ status: 'error', error: message });
  }

  private send(msg: unknown): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(msg));
  }
}
