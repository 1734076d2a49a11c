/**
 * The studio session API: `WS /api/session?token=<token>&session=<id>`.
 * Up: JSON `SessionCommand`s (text, mic_start, mic_stop, stop, playback_done), and between mic_start
 * and mic_stop binary frames of mic PCM (16 kHz s16le mono), each published as it arrives as one
 * `MicFrame` (kind 'audio') on fav:mic, framed by 'start' and 'end', `seq` counting per session from 0
 * at mic start. Passed through rather than re-framed: the client's 20-32 ms frames go on at once.
 * Down: every ClientEvent of the session as JSON, to every socket of the session (studio and
 * overlay); an `audio` event is its JSON without `pcm_b64` followed by one binary frame of PCM.
 * A refused command gets an `error` ClientEvent (stage 'gateway') on that socket only; the socket
 * stays open. A socket that does not keep up (unsent bytes over the limit) misses audio, not text.
 */
import type { WebSocket } from 'ws';
import { Channels, Queues } from '../../../shared/bus.js';
import { ErrorCodes, SessionCommand } from '../../../shared/voice.js';
import type { VoiceBus } from './bus-link.js';
import type { Delivered, DeliveryRouter } from './delivery.js';
import { controlEvent, gatewayError, GatewayErrorCodes, inputTask, micFrame, newTaskId, playbackDone } from './messages.js';
import type { ResolvedVoiceOptions } from './options.js';
import { toBuffer } from './seed-input.js';

/** Largest JSON command accepted, bytes (a text command of maxTextChars fits many times). */
const MAX_COMMAND_BYTES = 256 * 1024;
/** turn_id -> task_id remembered per session for playback_done. */
const TURN_MEMORY = 64;

interface SessionState {
  id: string;
  clients: Set<SessionClient>;
  unroute: () => void;
  micOwner: SessionClient | undefined;
  micSeq: number;
  turnTasks: Map<string, string>;
}

export class SessionHub {
  private readonly sessions = new Map<string, SessionState>();

  constructor(
    private readonly router: DeliveryRouter,
    readonly bus: VoiceBus,
    readonly o: ResolvedVoiceOptions,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  join(sessionId: string, socket: WebSocket): void {
    let state = this.sessions.get(sessionId);
    if (!state) {
      const s: SessionState = { id: sessionId, clients: new Set(), unroute: () => {}, micOwner: undefined, micSeq: 0, turnTasks: new Map() };
      s.unroute = this.router.onSession(sessionId, (d) => this.deliver(s, d));
      this.sessions.set(sessionId, (state = s));
    }
    const client = new SessionClient(socket, state, this);
    state.clients.add(client);
  }

  leave(state: SessionState, client: SessionClient): void {
    state.clients.delete(client);
    if (state.clients.size > 0) return;
    state.unroute();
    if (this.sessions.get(state.id) === state) this.sessions.delete(state.id);
  }

  close(): void {
    for (const s of this.sessions.values()) s.unroute();
    this.sessions.clear();
  }

  private deliver(state: SessionState, d: Delivered): void {
    const e = d.event as { turn_id?: string; task_id?: string };
    if (e.turn_id && e.task_id && !state.turnTasks.has(e.turn_id)) {
      state.turnTasks.set(e.turn_id, e.task_id);
      if (state.turnTasks.size > TURN_MEMORY) state.turnTasks.delete(state.turnTasks.keys().next().value!);
    }
    for (const c of state.clients) c.deliver(d);
  }
}

class SessionClient {
  private droppedTurn: string | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly state: SessionState,
    private readonly hub: SessionHub,
  ) {
    socket.on('message', (data, isBinary) => this.onMessage(toBuffer(data), isBinary));
    socket.on('close', () => this.onClose());
  }

  deliver(d: Delivered): void {
    const s = this.socket;
    if (s.readyState !== s.OPEN) return;
    if (d.event.type !== 'audio') return s.send(d.raw);
    if (s.bufferedAmount > this.hub.o.maxSocketBufferBytes) {
      if (this.droppedTurn !== d.event.turn_id) {
        this.droppedTurn = d.event.turn_id;
        this.hub.o.log('warn', 'session socket is not keeping up: dropping its audio', { session_id: this.state.id, turn_id: d.event.turn_id, buffered: s.bufferedAmount });
      }
      return;
    }
    const { meta, pcm } = d.audio();
    s.send(meta);
    s.send(pcm);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.onMic(data);
    if (data.byteLength > MAX_COMMAND_BYTES) return this.error(GatewayErrorCodes.badCommand, `command too large: ${data.byteLength} bytes, at most ${MAX_COMMAND_BYTES}`);
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch {
      return this.error(GatewayErrorCodes.badCommand, 'invalid JSON: send one command per text frame, e.g. {"type":"text","text":"hello"}');
    }
    const r = raw as { type?: unknown; text?: unknown };
    if (r && r.type === 'text' && typeof r.text === 'string') {
      if (r.text.trim() === '') return this.error(ErrorCodes.textEmpty, 'the text is empty');
      const max = this.hub.o.input.maxTextChars;
      if (r.text.length > max) return this.error(ErrorCodes.textTooLong, `text too long: ${r.text.length} characters, the limit is ${max}`);
    }
    const cmd = SessionCommand.safeParse(raw);
    if (!cmd.success) {
      const why = cmd.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; ');
      return this.error(GatewayErrorCodes.badCommand, `invalid command (${why}); expected one of text, mic_start, mic_stop, stop, playback_done`);
    }
    const c = cmd.data;
    const sid = this.state.id;
    switch (c.type) {
      case 'text': {
        const taskId = newTaskId();
        const task = inputTask({ session_id: sid, task_id: taskId, type: 'text', source: c.source, text: c.text.trim(), ...(c.author ? { author: c.author } : {}) });
        return this.track(this.hub.bus.push(Queues.input, task));
      }
      case 'mic_start': {
        const owner = this.state.micOwner;
        if (owner && owner !== this) return this.error(ErrorCodes.busy, 'another window of this session is using the microphone: stop it there first');
        this.state.micOwner = this;
        this.state.micSeq = 0;
        return this.publishMic('start', c.language ? { language: c.language } : {});
      }
      case 'mic_stop':
        if (this.state.micOwner !== this) return; // nothing to stop
        return this.stopMic();
      case 'stop':
        return this.track(this.hub.bus.publish(Channels.control, controlEvent('stop', sid, 'stop button')));
      case 'playback_done': {
        const taskId = this.state.turnTasks.get(c.turn_id) ?? c.turn_id;
        return this.track(this.hub.bus.publish(Channels.events, playbackDone(sid, c.turn_id, taskId)));
      }
    }
  }

  private onMic(data: Buffer): void {
    if (this.state.micOwner !== this) return this.error(GatewayErrorCodes.micNotStarted, 'binary audio frames are accepted only between mic_start and mic_stop');
    if (data.byteLength === 0) return;
    if (data.byteLength % 2 !== 0) return this.error(ErrorCodes.audioCorrupt, `mic frame of ${data.byteLength} bytes: 16-bit PCM needs an even number of bytes`);
    const max = this.hub.o.maxMicFrameBytes;
    if (data.byteLength > max) return this.error(ErrorCodes.audioTooLarge, `mic frame of ${data.byteLength} bytes: at most ${max} (send 20-32 ms frames of 16 kHz s16le mono)`);
    this.publishMic('audio', { pcm_b64: data.toString('base64') });
  }

  private stopMic(): void {
    this.publishMic('end');
    this.state.micOwner = undefined;
  }

  private publishMic(kind: 'start' | 'audio' | 'end', extra: { pcm_b64?: string; language?: string } = {}): void {
    const frame = micFrame(this.state.id, this.state.micSeq++, kind, extra);
    this.track(this.hub.bus.publish(Channels.mic, frame));
  }

  private onClose(): void {
    if (this.state.micOwner === this) this.stopMic();
    this.hub.leave(this.state, this);
  }

  /** A bus command's failure is this socket's error event (the socket stays usable). */
  private track(p: Promise<void>): void {
    p.catch((err: Error) => this.error(GatewayErrorCodes.busUnavailable, `the pipeline is unreachable (bus: ${err.message}); try again when /health is ok`));
  }

  private error(code: string, message: string): void {
    const s = this.socket;
    if (s.readyState === s.OPEN) s.send(JSON.stringify(gatewayError(this.state.id, code, message)));
  }
}
