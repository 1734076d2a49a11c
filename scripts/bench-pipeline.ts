/**
 * `npm run bench:pipeline [-- --turns 12] [-- --stops 8] [-- --first-token-ms 200] [-- --tokens-per-s 30] [-- --json out.json] [-- --no-reference] [-- --keep]`
 *
 * Drives whole spoken turns through the real studio (`fav serve` in its own process: embedded bus,
 * the 8 services as processes, the gateway) the way the studio page does: the session WebSocket, mic PCM frames paced in real
 * time. Speech is made with flite (Debian's `flite` CLI, its 16 kHz slt voice), recognised
 * by pocketsphinx, answered by the local OpenAI-compatible test server (fixed first-token delay and
 * token rate), spoken by flite (WASI). Prints p50/p95 of:
 *   end of speech -> final transcript      (VAD end-of-utterance wait + ASR)
 *   transcript -> first LLM token
 *   first sentence complete -> first audio chunk (tts + delivery)
 *   end of speech -> first audio (TTFA)    (at the client)
 *   pipeline overhead = TTFA - the engines' own time (VAD wait, ASR engine, LLM until the first
 *                       sentence, TTS engine until the first chunk): bus hops, memory, dialog,
 *                       gateway, WebSocket
 *   stop -> last audio chunk               (stop command sent -> the last audio frame or the stop
 *                                           event received, whichever is later)
 * The same turns run twice: on the embedded bus, then on a real redis-server (the reference, in the
 * same run; `--no-reference` skips it).
 * Targets on the project's 2-core machine: overhead p95 <= 15 ms, stop p95 <= 50 ms,
 * TTFA p95 <= 800 ms with a 200 ms first-token LLM. Reports; a MISS is not a failure.
 * The end of speech is the wall time at which the frame holding the last speech sample was sent
 * (frames are sent as a microphone would deliver them: one 20 ms frame every 20 ms; flite's own
 * silence around the words is cut off first). A breakdown per hop follows, from the turn's marks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ClientEvent, nowMs, type Marks } from '../src/shared/voice.js';
import { floatToS16 } from '../src/workers/audio/pcm.js';
import { say, wordErrors } from '../test/workers/asr/speech.js';
import { startOpenAiServer, type OpenAiServer } from '../test/helpers/openai-server.js';
import { startRedisServer, type RedisServerHandle } from '../test/helpers/redis-server.js';

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '12' },
    stops: { type: 'string', default: '8' },
    'first-token-ms': { type: 'string', default: '200' },
    'tokens-per-s': { type: 'string', default: '30' },
    json: { type: 'string' },
    /** Keep the studio's data dir (logs) and print where it is. */
    keep: { type: 'boolean', default: false },
    /** Skip the reference run with redis-server as the bus. */
    'no-reference': { type: 'boolean', default: false },
  },
});
const TURNS = Number(args.turns);
const STOPS = Number(args.stops);
const FIRST_TOKEN_MS = Number(args['first-token-ms']);
const TOKENS_PER_S = Number(args['tokens-per-s']);
const FRAME_MS = 20;
const FRAME = (16000 * FRAME_MS) / 1000;

const UTTERANCES = [
  'hello how are you today',
  'what is your favorite color',
  'tell me about the weather',
  'can you sing a song for me',
  'what did you eat for breakfast',
  'do you like playing games',
  'where do you live',
  'thank you for the stream',
  'what time is it now',
  'please say good night to everyone',
];
const SHORT_REPLY = 'Sure, I can do that. It is a lovely question, and I am happy you asked it today.';
const LONG_REPLY =
  'Once upon a time there was a little robot who loved to sing. Every morning she climbed the hill behind the lab. ' +
  'From the top she could see the whole city waking up. She sang to the birds, and the birds sang back. ' +
  'One day a storm came and the power went out everywhere. The robot kept singing, and people followed her voice home.';

interface TurnFigures {
  speechEndToTranscript: number;
  transcriptToFirstToken: number;
  sentenceToFirstAudio: number;
  ttfa: number;
  overhead: number;
  transcript: string;
  /** Hop durations (ms) between consecutive marks, for the breakdown. */
  hops: Record<string, number>;
}

/** Consecutive stages of a spoken turn; a hop is the time between two marks. */
const HOPS: Array<[string, string, string]> = [
  ['vad: end of speech -> utterance end decided', 'client_speech_end', 'speech_end'],
  ['asr: utterance end -> transcript', 'speech_end', 'transcript'],
  ['bus: transcript -> turn start (asr -> dialog-engine)', 'transcript', 'turn_start'],
  ['memory: turn start -> context', 'turn_start', 'context'],
  ['chat-ai: context -> LLM request', 'context', 'llm_request'],
  ['llm: request -> first token', 'llm_request', 'llm_first_token'],
  ['llm: first token -> first sentence', 'llm_first_token', 'sentence_0'],
  ['bus: first sentence -> tts start', 'sentence_0', 'tts_start'],
  ['tts: start -> first chunk published', 'tts_start', 'first_audio'],
  ['output-handler: first chunk -> delivered', 'first_audio', 'delivered'],
  ['gateway: delivered -> client', 'delivered', 'client_first_audio'],
];

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * flite speech at 16 kHz with flite's own leading and trailing silence cut off (below -50 dBFS),
 * so that the last frame sent really ends the speech: the end of speech is measured, not guessed.
 */
function makeSpeech(text: string): Float32Array {
  const s = say(text, 'slt');
  const loud = (i: number) => Math.abs(s[i]!) > 0.003;
  let a = 0;
  let b = s.length;
  while (a < b && !loud(a)) a++;
  while (b > a && !loud(b - 1)) b--;
  return s.subarray(a, b);
}

/** `fav serve` as its own process, as a user runs it; resolves with its gateway URL and token. */
async function startServe(dataDir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; token: string }> {
  const fav = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'fav.mjs');
  const child = spawn(process.execPath, [fav, 'serve', '--port', '0', '--data', dataDir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`fav serve did not start in 90 s:\n${out}`)), 90_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /gateway: (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`fav serve exited with ${code}:\n${out}`)));
  });
  return { child, url, token: readFileSync(path.join(dataDir, 'gateway-token'), 'utf8').trim() };
}

/** One session socket with an event log and waiters. */
class Session {
  readonly events: Array<{ at: number; ev: ClientEvent }> = [];
  private pendingAudio: ClientEvent | undefined;
  private waiters: Array<() => void> = [];
  lastAudioAt = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const at = nowMs();
      if (isBinary) {
        if (this.pendingAudio) this.lastAudioAt = at;
        this.pendingAudio = undefined;
        return;
      }
      const parsed = ClientEvent.safeParse(JSON.parse(String(data)));
      if (!parsed.success) return;
      if (parsed.data.type === 'audio') this.pendingAudio = parsed.data;
      this.events.push({ at, ev: parsed.data });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(url: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new Session(ws)));
      ws.once('error', reject);
    });
  }

  send(cmd: object): void {
    this.ws.send(JSON.stringify(cmd));
  }

  async waitFor<T extends ClientEvent['type']>(
    type: T,
    pred: (ev: Extract<ClientEvent, { type: T }>) => boolean,
    since: number,
    timeoutMs = 20_000,
  ): Promise<{ at: number; ev: Extract<ClientEvent, { type: T }> }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find((e) => e.at >= since && e.ev.type === type && pred(e.ev as Extract<ClientEvent, { type: T }>));
      if (hit) return hit as { at: number; ev: Extract<ClientEvent, { type: T }> };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

/** Sends PCM as a microphone would: one frame per FRAME_MS, on the wall clock. Resolves with the send time of the last frame. */
async function streamFrames(ws: WebSocket, samples: Float32Array, stop?: () => boolean): Promise<number> {
  const start = nowMs();
  let last = start;
  for (let i = 0, n = 0; i < samples.length; i += FRAME, n++) {
    if (stop?.()) break;
    const due = start + (n + 1) * FRAME_MS;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const frame = samples.subarray(i, Math.min(samples.length, i + FRAME));
    ws.send(floatToS16(frame));
    last = nowMs();
  }
  return last;
}

async function spokenTurn(s: Session, speech: Float32Array): Promise<TurnFigures> {
  const since = nowMs();
  s.send({ type: 'mic_start', sample_rate: 16000 });
  // 300 ms of room noise floor before speech, the speech, then silence until the transcript arrives.
  const lead = new Float32Array(16000 * 0.3);
  await streamFrames(s.ws, lead);
  const speechEnd = await streamFrames(s.ws, speech);
  let gotTranscript = false;
  const silence = new Float32Array(16000 * 4);
  const silenceDone = streamFrames(s.ws, silence, () => gotTranscript);
  const tr = await s.waitFor('transcript', (e) => e.final, since);
  gotTranscript = true;
  await silenceDone;
  s.send({ type: 'mic_stop' });
  const turnId = tr.ev.turn_id;
  const firstAudio = await s.waitFor('audio', (e) => e.turn_id === turnId, since);
  const end = await s.waitFor('turn_end', (e) => e.turn_id === turnId, since, 60_000).catch(async () => {
    // Dialog holds turn_end until playback ends: report playback done so the next turn starts clean.
    await s.waitFor('audio_end', (e) => e.turn_id === turnId, since);
    s.send({ type: 'playback_done', turn_id: turnId });
    return s.waitFor('turn_end', (e) => e.turn_id === turnId, since);
  });
  const marks: Marks = end.ev.type === 'turn_end' ? (end.ev.marks ?? {}) : {};
  const need = ['speech_end', 'transcript', 'llm_request', 'llm_first_token', 'sentence_0', 'asr_engine_ms', 'tts_engine_ms'];
  for (const k of need) if (marks[k] === undefined) throw new Error(`turn_end lacks mark ${k}: ${JSON.stringify(marks)}`);
  const ttfa = firstAudio.at - speechEnd;
  const vadWait = marks.speech_end! - speechEnd;
  const llmUntilSentence = marks.sentence_0! - marks.llm_request!;
  const engines = Math.max(0, vadWait) + marks.asr_engine_ms! + llmUntilSentence + marks.tts_engine_ms!;
  const all: Marks = { ...marks, client_speech_end: speechEnd, client_first_audio: firstAudio.at };
  const hops: Record<string, number> = {};
  for (const [name, from, to] of HOPS) if (all[from] !== undefined && all[to] !== undefined) hops[name] = all[to]! - all[from]!;
  hops['(tts engine time in the tts hop)'] = marks.tts_engine_ms!;
  hops['(asr engine time in the asr hop)'] = marks.asr_engine_ms!;
  return {
    hops,
    speechEndToTranscript: tr.at - speechEnd,
    transcriptToFirstToken: marks.llm_first_token! - marks.transcript!,
    sentenceToFirstAudio: firstAudio.at - marks.sentence_0!,
    ttfa,
    overhead: ttfa - engines,
    transcript: tr.ev.text,
  };
}

/** A typed turn with a long reply, stopped 300 ms after its first audio; returns stop -> last audio (ms). */
async function stoppedTurn(s: Session, n: number): Promise<number> {
  const since = nowMs();
  s.send({ type: 'text', text: `tell me a long story number ${n}` });
  const first = await s.waitFor('audio', () => true, since);
  const turnId = first.ev.turn_id;
  await new Promise((r) => setTimeout(r, 300));
  const stopAt = nowMs();
  s.send({ type: 'stop' });
  const stopped = await s.waitFor('stop', (e) => e.turn_id === turnId, stopAt);
  await s.waitFor('turn_end', (e) => e.turn_id === turnId, stopAt).catch(() => undefined);
  // Anything still in flight arrives within a moment; measure to the last audio frame seen.
  await new Promise((r) => setTimeout(r, 200));
  const lastAudio = s.lastAudioAt;
  return Math.max(stopped.at, lastAudio) - stopAt;
}

interface RunResult {
  bus: string;
  turns: TurnFigures[];
  stops: number[];
  wer: { errors: number; words: number };
}

/** One full run on one bus: `fav serve` (embedded bus, or FAV_REDIS_URL), warm-up, spoken turns, stopped turns. */
async function runOn(bus: string, busEnv: Record<string, string>, llm: OpenAiServer, tmp: string): Promise<RunResult> {
  let studio: { child: ChildProcess; url: string; token: string } | undefined;
  try {
    const t0 = Date.now();
    studio = await startServe(path.join(tmp, `data-${bus}`), {
      FAV_LLM_BASE_URL: llm.url,
      FAV_LLM_MODEL: 'test-model',
      FAV_ASR_ENGINE: 'pocketsphinx',
      FAV_TTS_ENGINE: 'flite',
      FAV_LOG_LEVEL: process.env.FAV_LOG_LEVEL ?? 'warn',
      ...busEnv,
    });
    console.log(`[${bus}] fav serve ready in ${Date.now() - t0} ms at ${studio.url}`);
    const wsUrl = `${studio.url.replace(/^http/, 'ws')}/api/session?token=${encodeURIComponent(studio.token)}&session=bench`;
    const s = await Session.open(wsUrl);
    const speech = UTTERANCES.map((u) => makeSpeech(u));
    // One warm-up turn (first model use, JIT) that is not counted.
    await spokenTurn(s, speech[0]!);
    const turns: TurnFigures[] = [];
    const wer = { errors: 0, words: 0 };
    for (let i = 0; i < TURNS; i++) {
      const u = i % UTTERANCES.length;
      const f = await spokenTurn(s, speech[u]!);
      turns.push(f);
      const e = wordErrors(UTTERANCES[u]!, f.transcript);
      wer.words += e.words;
      wer.errors += e.errors;
    }
    const stops: number[] = [];
    for (let i = 0; i < STOPS; i++) stops.push(await stoppedTurn(s, i));
    s.ws.close();
    return { bus, turns, stops, wer };
  } finally {
    if (studio && studio.child.exitCode === null) {
      const exited = new Promise((r) => studio!.child.once('exit', r));
      studio.child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (studio.child.exitCode === null) studio.child.kill('SIGKILL');
    }
  }
}

function report(runs: RunResult[]): Record<string, Record<string, { p50: number; p95: number; n: number; target?: number }>> {
  const rowsOf = (r: RunResult): Array<[string, number[], number | undefined]> => [
    ['end of speech -> final transcript', r.turns.map((t) => t.speechEndToTranscript), undefined],
    ['transcript -> first LLM token', r.turns.map((t) => t.transcriptToFirstToken), undefined],
    ['first sentence -> first audio chunk', r.turns.map((t) => t.sentenceToFirstAudio), undefined],
    ['end of speech -> first audio (TTFA)', r.turns.map((t) => t.ttfa), 800],
    ['pipeline overhead (TTFA - engines)', r.turns.map((t) => t.overhead), 15],
    ['stop -> last audio chunk', r.stops, 50],
  ];
  const out: Record<string, Record<string, { p50: number; p95: number; n: number; target?: number }>> = {};
  const head = runs.map((r) => `${r.bus} p50/p95`.padStart(24)).join('');
  console.log(`\n${'measure (ms)'.padEnd(40)}${head}  target (p95, ${runs[0]!.bus})`);
  const rows = runs.map(rowsOf);
  for (let i = 0; i < rows[0]!.length; i++) {
    const [name, , target] = rows[0]![i]!;
    let line = name.padEnd(40);
    runs.forEach((r, k) => {
      const xs = rows[k]![i]![1];
      const p50 = pct(xs, 50);
      const p95 = pct(xs, 95);
      (out[r.bus] ??= {})[name] = { p50, p95, n: xs.length, ...(target ? { target } : {}) };
      line += `${p50.toFixed(1)} / ${p95.toFixed(1)}`.padStart(24);
    });
    const p95 = out[runs[0]!.bus]![name]!.p95;
    if (target !== undefined) line += `  <= ${target}  ${p95 <= target ? 'ok' : 'MISS'}`;
    console.log(line);
  }
  console.log(`\nbreakdown of a spoken turn, consecutive marks (ms, p50 / p95 per bus)`);
  for (const name of [...HOPS.map((h) => h[0]), '(tts engine time in the tts hop)', '(asr engine time in the asr hop)']) {
    let line = `  ${name.padEnd(56)}`;
    for (const r of runs) {
      const xs = r.turns.map((t) => t.hops[name]).filter((x): x is number => x !== undefined);
      line += xs.length ? `${pct(xs, 50).toFixed(1)} / ${pct(xs, 95).toFixed(1)}`.padStart(18) : ''.padStart(18);
    }
    console.log(line);
  }
  for (const r of runs) console.log(`ASR word error rate (${r.bus}) over ${TURNS} turns: ${((100 * r.wer.errors) / r.wer.words).toFixed(1)}% (${r.wer.errors}/${r.wer.words} words)`);
  return out;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fav-bench-pipeline-'));
  let llm: OpenAiServer | undefined;
  let reference: RedisServerHandle | undefined;
  try {
    llm = await startOpenAiServer({
      reply: (messages) => (JSON.stringify(messages.at(-1)?.content ?? '').includes('story') ? LONG_REPLY : SHORT_REPLY),
      firstTokenDelayMs: FIRST_TOKEN_MS,
      tokensPerSecond: TOKENS_PER_S,
    });
    console.log(`bench:pipeline  turns=${TURNS} stops=${STOPS} LLM first token ${FIRST_TOKEN_MS} ms, ${TOKENS_PER_S} tokens/s; pocketsphinx ASR, flite TTS`);
    const runs: RunResult[] = [await runOn('embedded', {}, llm, tmp)];
    if (!args['no-reference']) {
      // The same turns with redis-server as the bus: what the embedded bus costs, in the same run.
      reference = await startRedisServer({ password: 'bench-reference' });
      runs.push(await runOn('redis-server', { FAV_REDIS_URL: reference.url }, llm, tmp));
    }
    const out = report(runs);
    if (args.json) writeFileSync(args.json, JSON.stringify({ turns: TURNS, stops: STOPS, firstTokenMs: FIRST_TOKEN_MS, tokensPerS: TOKENS_PER_S, results: out, runs }, null, 2));
  } finally {
    await reference?.stop();
    await llm?.close();
    if (args.keep) console.log(`data dirs kept under ${tmp} (logs in data-*/logs/)`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}


main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench:pipeline failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
