/**
 * The studio session API: `WS /api/session?token=<token>&session=<id>&role=control|view&audio=1|0`.
 * Roles (src/shared/session-api.ts): a `control` socket sends commands and mic audio; a `view`
 * socket only listens (an overlay); one socket per session, of either role, is the audio socket.
 * Up: JSON `SessionCommand`s (text, mic_start, mic_stop, stop from control sockets; playback_done
 * and heard from the audio socket; claim_audio from any), and from control sockets between mic_start and
 * mic_stop binary frames of mic PCM (16 kHz s16le mono), each published as it arrives as one
 * `MicFrame` (kind 'audio') on fav:mic, framed by 'start' and 'end', `seq` counting per session from 0
 * at mic start. Passed through rather than re-framed: the client's 20-32 ms frames go on at once.
 * Down: every ClientEvent of the session as JSON to every socket of the session, except `audio`:
 * the audio socket gets its JSON without `pcm_b64` followed by one binary frame of PCM, the others
 * its `audio_timing` (no PCM), so a studio and an overlay open together play each reply once.
 * Audio claims stack: the latest claim takes the audio (the previous holder is told, and stops
 * getting PCM); when the holder closes, the previous claimant still open gets it back (and is told).
 * A refused command gets an `error` ClientEvent (stage 'gateway') on that socket only; the socket
 * stays open. A socket that does not keep up (unsent bytes over the limit) misses audio, not text.
 */
import type { WebSocket } from 'ws';
import { Channels, Queues } from '../../../shared/bus.js';
import { ErrorCodes, nowMs, SessionCommand, type SessionAccess, type SessionRole } from '../../../shared/voice.js';
import type { VoiceBus } from './bus-link.js';
import type { Delivered, DeliveryRouter } from './delivery.js';
import { controlEvent, gatewayError, GatewayErrorCodes, inputTask, micFrame, newTaskId, playbackDone, roleNotice } from './messages.js';
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
  /** Sockets that claimed the audio, oldest first: the last one is the audio socket. */
  audioClaims: SessionClient[];
}

/** Who keeps the last turns' timings (src/main/gateway/turn-timings.ts). */
export interface TurnObserver {
  turnEnd(ev: { session_id: string; turn_id: string; reason?: string; marks?: Record<string, number> }): void;
  heard(sessionId: string, turnId: string, at: number): void;
}

export class SessionHub {
  private readonly sessions = new Map<string, SessionState>();

  constructor(
    private readonly router: DeliveryRouter,
    readonly bus: VoiceBus,
    readonly o: ResolvedVoiceOptions,
    readonly turns?: TurnObserver,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  join(sessionId: string, socket: WebSocket, access: SessionAccess): void {
    let state = this.sessions.get(sessionId);
    if (!state) {
      const s: SessionState = { id: sessionId, clients: new Set(), unroute: () => {}, micOwner: undefined, micSeq: 0, turnTasks: new Map(), audioClaims: [] };
      s.unroute = this.router.onSession(sessionId, (d) => this.deliver(s, d));
      this.sessions.set(sessionId, (state = s));
    }
    const client = new SessionClient(socket, state, this, access.role);
    state.clients.add(client);
    if (access.audio) this.claimAudio(state, client, false);
  }

  /** `client` becomes the audio socket; the one it displaces is told (and so is `client` if `confirm`). */
  claimAudio(state: SessionState, client: SessionClient, confirm: boolean): void {
    const before = audioSocket(state);
    const i = state.audioClaims.indexOf(client);
    if (i >= 0) state.audioClaims.splice(i, 1);
    state.audioClaims.push(client);
    if (before && before !== client) before.notify(false, 'another socket of this session claimed the audio: it plays there now (send claim_audio to take it back)');
    if (confirm) client.notify(true, 'claimed: this socket plays the audio and reports playback_done');
  }

  leave(state: SessionState, client: SessionClient): void {
    state.clients.delete(client);
    const wasAudio = audioSocket(state) === client;
    const i = state.audioClaims.indexOf(client);
    if (i >= 0) state.audioClaims.splice(i, 1);
    const next = audioSocket(state);
    if (wasAudio && next) next.notify(true, 'the socket that had the audio closed: it plays here again');
    if (state.clients.size > 0) return;
    state.unroute();
    if (this.sessions.get(state.id) === state) this.sessions.delete(state.id);
  }

  /** Open sockets of a session by role (the control API says how many studios a command reached). */
  socketCounts(sessionId: string): Record<SessionRole, number> {
    const counts: Record<SessionRole, number> = { control: 0, view: 0 };
    for (const c of this.sessions.get(sessionId)?.clients ?? []) counts[c.role]++;
    return counts;
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

const audioSocket = (state: SessionState): SessionClient | undefined => state.audioClaims[state.audioClaims.length - 1];

class SessionClient {
  private droppedTurn: string | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly state: SessionState,
    private readonly hub: SessionHub,
    readonly role: SessionRole,
  ) {
    socket.on('message', (data, isBinary) => this.onMessage(toBuffer(data), isBinary));
    socket.on('close', () => this.onClose());
  }

  private get isAudio(): boolean {
    return audioSocket(this.state) === this;
  }

  notify(audio: boolean, reason: string): void {
    const s = this.socket;
    if (s.readyState === s.OPEN) s.send(JSON.stringify(roleNotice(this.state.id, this.role, audio, reason)));
  }

  deliver(d: Delivered): void {
    const s = this.socket;
    if (s.readyState !== s.OPEN) return;
    if (d.event.type !== 'audio') return s.send(d.raw);
    if (!this.isAudio) return s.send(d.timing());
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
    if (isBinary) {
      if (this.role === 'view') return this.readOnly('mic audio');
      return this.onMic(data);
    }
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
      return this.error(GatewayErrorCodes.badCommand, `invalid command (${why}); expected one of text, mic_start, mic_stop, stop, playback_done, claim_audio, heard`);
    }
    const c = cmd.data;
    const sid = this.state.id;
    if (c.type === 'claim_audio') return this.hub.claimAudio(this.state, this, true);
    if (c.type === 'playback_done') {
      if (!this.isAudio) return this.error(GatewayErrorCodes.notAudioSocket, `playback_done ignored: only the session's audio socket reports it (connect with ?audio=1 or send {"type":"claim_audio"})`);
      const taskId = this.state.turnTasks.get(c.turn_id) ?? c.turn_id;
      return this.track(this.hub.bus.publish(Channels.events, playbackDone(sid, c.turn_id, taskId)));
    }
    if (c.type === 'heard') {
      if (!this.isAudio) return this.error(GatewayErrorCodes.notAudioSocket, `heard ignored: only the session's audio socket reports it (connect with ?audio=1 or send {"type":"claim_audio"})`);
      // Stamped with the core's clock (as every other mark), less how long ago the page heard it.
      this.hub.turns?.heard(sid, c.turn_id, nowMs() - c.ago_ms);
      return;
    }
    if (this.role === 'view') return this.readOnly(`'${c.type}'`);
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
    }
  }

  private readOnly(what: string): void {
    this.error(GatewayErrorCodes.readOnly, `${what} refused: this is a read-only view socket (it may only send claim_audio); commands need ?role=control with the studio token`);
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
  private track(p: Promise<unknown>): void {
    p.catch((err: Error) => this.error(GatewayErrorCodes.busUnavailable, `the pipeline is unreachable (bus: ${err.message}); try again when /health is ok`));
  }

  private error(code: string, message: string): void {
    const s = this.socket;
    if (s.readyState === s.OPEN) s.send(JSON.stringify(gatewayError(this.state.id, code, message)));
  }
}
