/**
 * Mic sessions shared by several asr instances, in process on a real redis-server: two instances
 * that both see every frame (as two workers subscribed to fav:mic would) publish each utterance
 * once; an instance takes a session over when its owner's claim lapses; a stream ended and started
 * again at once keeps working. The engine is the OpenAI-compatible one against the local stand-in,
 * whose transcript reports the length of the audio it received (so the text depends on the input).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import { parseWav } from '../../../src/workers/audio/pcm.js';
import { MicSessions, ownerKey } from '../../../src/workers/asr/mic.js';
import { OpenAiAsrEngine } from '../../../src/workers/asr/openai-engine.js';
import { SileroVad } from '../../../src/workers/asr/vad.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { Tap } from '../dialog-engine/harness.js';
import { startBackend, waitFor, type Backend } from '../../main/supervisor/helpers.js';
import { FRAME, micFrame, waitCount } from './service-harness.js';
import { SENTENCES, concat, say, silence } from './speech.js';

const log = pino({ level: 'silent' });
let bus: Backend;
let ai: OpenAiServer;
let vad: SileroVad;
let tap: Tap;
const conns: Redis[] = [];

beforeAll(async () => {
  bus = await startBackend('redis-server');
  ai = await startOpenAiServer({ transcript: (file) => `heard ${Math.round(parseWav(file).samples.length / 16)} ms` });
  vad = await SileroVad.load();
  tap = await Tap.open(bus.url, [Channels.asrResults, Channels.events]);
}, 30_000);
afterAll(async () => {
  await tap?.close();
  for (const c of conns) c.disconnect();
  await vad?.dispose();
  await ai?.close();
  await bus?.stop();
});

async function instance(id: string, ownerTtlMs = 10_000): Promise<MicSessions> {
  const redis = new Redis(bus.url, { lazyConnect: true });
  await redis.connect();
  conns.push(redis);
  const settings = ConfigSchema.parse({ dataDir: '/tmp', asr: { engine: 'openai', openai: { baseUrl: ai.url } } });
  const engine = new OpenAiAsrEngine(settings, { log });
  await engine.init();
  return new MicSessions({ redis, log, instanceId: id, vad, engine, settings, ownerTtlMs });
}

/** Feeds the same frames to every instance, in order, as fast as they take them. */
async function feed(instances: MicSessions[], session: string, audio: Float32Array, from = 1): Promise<number> {
  let n = from;
  for (let i = 0; i < audio.length; i += FRAME, n++) {
    const f = micFrame(session, n, 'audio', audio.subarray(i, i + FRAME));
    await Promise.all(instances.map((m) => m.handle(f)));
  }
  return n;
}
const send = (instances: MicSessions[], session: string, n: number, kind: 'start' | 'end') => Promise.all(instances.map((m) => m.handle(micFrame(session, n, kind))));
const results = (session: string) => tap.on(Channels.asrResults, (m) => m.session_id === session);
/**
 * Resolves once the tap has everything these connections published so far: a marker published on
 * each comes after them (a connection's commands run in order), so its arrival proves theirs did.
 */
async function heardAllOf(redis: Redis[]): Promise<void> {
  const id = randomUUID();
  await Promise.all(redis.map((r, i) => r.publish(Channels.asrResults, JSON.stringify({ marker: `${id}:${i}` }))));
  for (let i = 0; i < redis.length; i++) await tap.next(Channels.asrResults, (m) => m.marker === `${id}:${i}`);
}

describe('mic sessions across asr instances', () => {
  it('two instances seeing the same frames publish each utterance once, from the claimant', async () => {
    const a = await instance('asr@a');
    const b = await instance('asr@b');
    const theirs = conns.slice(-2);
    const session = 'shared-1';
    const utterance = concat(silence(300), say(SENTENCES[0], 'slt'), silence(700));
    await send([a, b], session, 0, 'start');
    const n = await feed([a, b], session, utterance);
    const owner = await conns[0]!.get(ownerKey(session));
    expect(['asr@a', 'asr@b']).toContain(owner);
    await send([a, b], session, n, 'end');
    const [r] = await waitCount(() => results(session), 1, 10_000);
    // The engine got the utterance: its speech, the pre-roll, and the silence up to the decision.
    const heardMs = Number(/^heard (\d+) ms$/.exec(r!.msg.text as string)?.[1]);
    const speechMs = (say(SENTENCES[0], 'slt').length / 16000) * 1000;
    expect(heardMs).toBeGreaterThan(speechMs * 0.8);
    expect(heardMs).toBeLessThan((utterance.length / 16000) * 1000);
    // Both are done (close waits for transcriptions in flight) and all they published has arrived.
    await a.close();
    await b.close();
    await heardAllOf(theirs);
    expect(results(session)).toHaveLength(1);
    expect(tap.on(Channels.events, (m) => m.session_id === session && m.kind === 'speech_start')).toHaveLength(1);
    // Released at the end of the stream.
    expect(await conns[0]!.get(ownerKey(session))).toBeNull();
  }, 30_000);

  it("takes a session over when its owner's claim lapses", async () => {
    // a's claim outlives the test unless it lapses; b looks again every 500 ms (a third of its TTL).
    const a = await instance('asr@a2', 60_000);
    const b = await instance('asr@b2', 1500);
    const bRedis = conns.at(-1)!;
    const session = 'shared-2';
    await send([a], session, 0, 'start');
    let n = await feed([a], session, silence(200));
    expect(await conns[0]!.get(ownerKey(session))).toBe('asr@a2');
    // a stops getting frames (its worker died); b sees the rest. First b defers to a's claim...
    n = await feed([b], session, concat(say(SENTENCES[1], 'slt'), silence(600)), n);
    // Had b taken the session, its speech_start would be out before this marker.
    await heardAllOf([bRedis]);
    expect(results(session)).toEqual([]);
    expect(tap.on(Channels.events, (m) => m.session_id === session)).toEqual([]);
    // ...then the claim lapses (its PX runs out now), b claims the session on a later frame...
    await conns[0]!.pexpire(ownerKey(session), 1);
    await waitFor(async () => {
      n = await feed([b], session, silence(100), n);
      return (await conns[0]!.get(ownerKey(session))) === 'asr@b2';
    }, 'b to claim the session', 10_000);
    // ...and recognises new speech.
    n = await feed([b], session, concat(silence(300), say(SENTENCES[2], 'slt'), silence(700)), n);
    await send([b], session, n, 'end');
    const [r] = await waitCount(() => results(session), 1, 10_000);
    expect(r!.msg.text).toMatch(/^heard \d+ ms$/);
    await a.close();
    await b.close();
  }, 30_000);

  it('a stream ended and started again at once goes on with the new stream', async () => {
    const a = await instance('asr@a3');
    const session = 'restart-1';
    const speech = concat(silence(300), say(SENTENCES[3], 'slt'), silence(700));
    await send([a], session, 0, 'start');
    const last = await feed([a], session, speech);
    // end + start + audio queued back to back, before the end is processed.
    const pending = [a.handle(micFrame(session, last, 'end')), a.handle(micFrame(session, 0, 'start'))];
    const n = await feed([a], session, speech, 1);
    await Promise.all(pending);
    await a.handle(micFrame(session, n, 'end'));
    const rs = await waitCount(() => results(session), 2, 10_000);
    expect(rs).toHaveLength(2);
    for (const r of rs) expect(r.msg.text).toMatch(/^heard \d+ ms$/);
    expect(a.size).toBe(0);
    await a.close();
  }, 30_000);
});
