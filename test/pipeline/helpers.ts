/**
 * End-to-end helpers: speech made with flite, and a studio session client that behaves like the
 * studio page (collects ClientEvents, pairs audio metadata with its PCM frame, reports playback
 * done after audio_end so the dialog engine does not wait out its playback timer).
 */
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { ClientEvent } from '../../src/shared/voice.js';
import { encodeWav, floatToS16 } from '../../src/workers/audio/pcm.js';
import { DECIDE_SYSTEM_PROMPT, EXTRACT_SYSTEM_PROMPT } from '../../src/workers/long-term-memory/facts/prompts.js';
import type { OpenAiServer, RecordedRequest } from '../helpers/openai-server.js';
import { say, wordErrors } from '../workers/asr/speech.js';

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
export const HAVE_FLITE = onPath('flite');
export const HAVE_POCKETSPHINX = onPath('pocketsphinx_continuous');

/** Speech for `text` at 16 kHz: Debian flite's US English 'slt' voice (its default 'kal' is 8 kHz and far less clear). */
export function speech16k(text: string): Float32Array {
  return say(text, 'slt');
}

/** A WAV file (16 kHz) of `text` spoken by flite, with a little silence around it. */
export function speechWav(text: string): Buffer {
  const s = speech16k(text);
  const padded = new Float32Array(s.length + 16000 * 0.4);
  padded.set(s, 16000 * 0.2);
  return encodeWav({ samples: padded, sampleRate: 16000 });
}

export { wordErrors };

/**
 * The stand-in LLM's chat requests for replies, in order: long-term memory's extraction calls (made
 * after each turn, with their own system prompts) left out.
 */
export function replyRequests(ai: OpenAiServer): RecordedRequest[] {
  return ai.requests.filter((r) => {
    if (!r.path.endsWith('/chat/completions')) return false;
    const first = (r.body as { messages?: Array<{ content?: unknown }> } | undefined)?.messages?.[0]?.content;
    return first !== EXTRACT_SYSTEM_PROMPT && first !== DECIDE_SYSTEM_PROMPT;
  });
}

export type Ev = ClientEvent & { at: number; pcm?: Buffer };

/** The studio session socket, as the page uses it. */
export class StudioClient {
  readonly events: Ev[] = [];
  private pendingAudio: Ev | undefined;
  private wakers: Array<() => void> = [];
  /** Send playback_done after each audio_end (like the page after its last buffer ends). */
  autoPlaybackDone = true;
  readonly protocolErrors: string[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) {
        if (!this.pendingAudio) this.protocolErrors.push(`binary frame of ${buf.length} bytes without audio metadata`);
        else this.pendingAudio.pcm = buf;
        this.pendingAudio = undefined;
        return;
      }
      const parsed = ClientEvent.safeParse(JSON.parse(buf.toString('utf8')));
      if (!parsed.success) {
        this.protocolErrors.push(`invalid event: ${buf.toString('utf8').slice(0, 200)}`);
        return;
      }
      const ev: Ev = { ...parsed.data, at: Date.now() };
      if (ev.type === 'audio') this.pendingAudio = ev;
      if (ev.type === 'audio_end' && this.autoPlaybackDone) this.send({ type: 'playback_done', turn_id: ev.turn_id });
      this.events.push(ev);
      for (const w of this.wakers.splice(0)) w();
    });
  }

  static open(gatewayUrl: string, token: string, session: string): Promise<StudioClient> {
    const url = `${gatewayUrl.replace(/^http/, 'ws')}/api/session?token=${encodeURIComponent(token)}&session=${encodeURIComponent(session)}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new StudioClient(ws)));
      ws.once('error', reject);
    });
  }

  send(cmd: object): void {
    this.ws.send(JSON.stringify(cmd));
  }

  sendPcm(samples: Float32Array): void {
    this.ws.send(floatToS16(samples));
  }

  /** Streams samples as a microphone would: 20 ms frames on the wall clock. */
  async streamMic(samples: Float32Array, frameMs = 20): Promise<void> {
    const n = (16000 * frameMs) / 1000;
    const start = Date.now();
    for (let i = 0, k = 0; i < samples.length; i += n, k++) {
      const wait = start + (k + 1) * frameMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.sendPcm(samples.subarray(i, Math.min(samples.length, i + n)));
    }
  }

  of<T extends Ev['type']>(type: T, pred: (e: Extract<Ev, { type: T }>) => boolean = () => true): Array<Extract<Ev, { type: T }>> {
    return this.events.filter((e) => e.type === type && pred(e as Extract<Ev, { type: T }>)) as Array<Extract<Ev, { type: T }>>;
  }

  forTurn(turnId: string): Ev[] {
    return this.events.filter((e) => 'turn_id' in e && e.turn_id === turnId);
  }

  async waitFor<T extends Ev['type']>(type: T, pred: (e: Extract<Ev, { type: T }>) => boolean = () => true, timeoutMs = 30_000): Promise<Extract<Ev, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.of(type, pred)[0];
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) {
        const tail = this.events.slice(-12).map((e) => JSON.stringify({ ...e, pcm: undefined, envelope: undefined, visemes: undefined }).slice(0, 200));
        throw new Error(`no ${type} event within ${timeoutMs} ms; last events:\n${tail.join('\n')}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wakers.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}
