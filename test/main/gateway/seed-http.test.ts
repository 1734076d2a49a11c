/**
 * The seed's HTTP endpoints `POST /api/asr` and `POST /control/stop` against a real gateway on a real
 * bus with a fake pipeline: the happy path, each error status, and who may call them without a token.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import type { ClientEvent } from '../../../src/shared/voice.js';
import { BACKENDS, audioEvent, pcm, startRig, startVoiceGateway, WsClient, sleep, type Json } from './helpers.js';
import { startBackend } from '../supervisor/helpers.js';

const wavish = Buffer.concat([Buffer.from('RIFF'), pcm(800)]);

describe.each(BACKENDS)('POST /api/asr and /control/stop on %s', (kind) => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    rig = await startRig(kind, { asrTimeoutMs: 800 });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(rig.rig.gateway.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  /** Posts a recording, answers it like the pipeline would with `events(taskId)`, returns the response. */
  const asr = async (sessionId: string, events: (taskId: string) => ClientEvent[], body: Record<string, unknown> = {}) => {
    const res = post('/api/asr', { sessionId, audio: wavish.toString('base64'), contentType: 'audio/wav', ...body });
    const task = await rig.pipe.nextInput();
    await rig.pipe.deliver(...events(task.task_id));
    const r = await res;
    return { status: r.status, body: (await r.json()) as Json, task };
  };

  it('answers with the transcript, the reply and timings; the audio goes to the session socket', async () => {
    const s = 'sess-asr-1';
    const studio = await WsClient.open(`${rig.rig.ws}/api/session?token=${rig.rig.token}&session=${s}`);
    await sleep(50);
    const { status, body, task } = await asr(s, (id) => [
      { type: 'transcript', session_id: s, turn_id: id, task_id: id, text: 'hello', final: false },
      { type: 'transcript', session_id: s, turn_id: id, task_id: id, text: 'hello there', final: true },
      { type: 'reply_delta', session_id: s, turn_id: id, task_id: id, text: 'Hi!' },
      audioEvent(s, id, 0, pcm(100)),
      Object.assign({ type: 'reply_done', session_id: s, turn_id: id, task_id: id, text: 'Hi! Nice to meet you.' } as const, {
        marks: { input: 1000, transcript: 1120.25, llm_first_token: 1300, asr_engine_ms: 80 },
      }),
    ]);
    expect(task).toMatchObject({ type: 'audio', source: 'upload', session_id: s, content_type: 'audio/wav' });
    expect(task.turn_id).toBe(task.task_id);
    expect(Buffer.from(task.audio_b64!, 'base64').equals(wavish)).toBe(true);
    expect(status).toBe(200);
    expect(body).toMatchObject({ sessionId: s, transcript: 'hello there', reply: 'Hi! Nice to meet you.', taskId: task.task_id });
    expect(body.stats.total_ms).toBeGreaterThanOrEqual(body.stats.transcript_ms);
    expect(body.stats.marks).toEqual({ input: 0, transcript: 120.3, llm_first_token: 300, asr_engine_ms: 80 });
    // The studio socket of the session saw the same turn.
    const types: string[] = [];
    for (let i = 0; i < 6; i++) {
      const m = await studio.next();
      types.push(m.json?.type ?? 'binary');
    }
    expect(types).toEqual(['transcript', 'transcript', 'reply_delta', 'audio', 'binary', 'reply_done']);
    studio.close();
  });

  it('takes a data: URL as browsers read it, content type included', async () => {
    const { status, task } = await asr(
      's2',
      (id) => [{ type: 'reply_done', session_id: 's2', turn_id: id, task_id: id, text: 'ok' }],
      { audio: `data:audio/webm;codecs=opus;base64,${wavish.toString('base64')}`, contentType: undefined },
    );
    expect(status).toBe(200);
    expect(task.content_type).toBe('audio/webm');
    expect(Buffer.from(task.audio_b64!, 'base64').equals(wavish)).toBe(true);
  });

  it('answers 400 for a missing or invalid body, 413 over the size limit, and queues nothing', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ audio: 'AAAA' }, 400, /sessionId/],
      [{ sessionId: 's', audio: '' }, 400, /audio.*empty/],
      [{ sessionId: 's' }, 400, /audio/],
      [{ sessionId: 's', audio: 'not base64 at all!' }, 400, /not base64/],
      [{ sessionId: 'bad id with spaces', audio: 'AAAA' }, 400, /session id/],
      ['{"sessionId": "s", "audio"', 400, /invalid body/],
      [{ sessionId: 's', audio: Buffer.alloc(64 * 1024 + 1).toString('base64') }, 413, /audio too large: the limit is 65536 bytes/],
      [{ sessionId: 's', audio: 'A'.repeat(200_000) }, 413, /audio too large/],
    ];
    for (const [body, status, error] of cases) {
      const r = await post('/api/asr', body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(((await r.json()) as Json).error).toMatch(error);
    }
    expect(await rig.pipe.inputsLeft()).toBe(0);
  });

  it('answers 422 when decoding or ASR fails, 409 when stopped, 429 when busy, 502 when the LLM fails', async () => {
    const err = (s: string, id: string, stage: 'input' | 'asr' | 'llm' | 'dialog' | 'tts', code: string, message: string): ClientEvent => ({ type: 'error', session_id: s, turn_id: id, task_id: id, stage, code, message });
    const a = await asr('e1', (id) => [err('e1', id, 'input', 'audio_corrupt', 'the recording is damaged: re-record it')]);
    expect(a.status).toBe(422);
    expect(a.body).toEqual({ error: 'the recording is damaged: re-record it', code: 'audio_corrupt', stage: 'input', sessionId: 'e1', transcript: '', taskId: a.task.task_id });
    const b = await asr('e2', (id) => [err('e2', id, 'asr', 'audio_silent', 'no speech was heard')]);
    expect([b.status, b.body.code]).toEqual([422, 'audio_silent']);
    const c = await asr('e3', (id) => [
      { type: 'transcript', session_id: 'e3', turn_id: id, task_id: id, text: 'tell me', final: true },
      err('e3', id, 'tts', 'tts_failed', 'one sentence failed'), // not fatal for the text
      { type: 'stop', session_id: 'e3', turn_id: id, task_id: id, reason: 'barge-in' },
    ]);
    expect(c.status).toBe(409);
    expect(c.body).toMatchObject({ code: 'cancelled', transcript: 'tell me', error: expect.stringMatching(/stopped.*barge-in/) });
    const d = await asr('e4', (id) => [err('e4', id, 'dialog', 'busy', 'a turn is running: input dropped')]);
    expect(d.status).toBe(429);
    const e = await asr('e5', (id) => [err('e5', id, 'llm', 'llm_unreachable', 'cannot reach http://127.0.0.1:11434/v1: is Ollama running?')]);
    expect(e.status).toBe(502);
    expect(e.body.error).toMatch(/Ollama/);
  });

  it('answers 504 when the pipeline stays silent, and cancels that turn', async () => {
    const t0 = Date.now();
    const res = post('/api/asr', { sessionId: 'slow', audio: wavish.toString('base64') });
    const task = await rig.pipe.nextInput();
    const r = await res;
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    expect(((await r.json()) as Json).error).toMatch(/no reply within 800 ms/);
    const [cancel] = await rig.pipe.waitOn(Channels.control, 1, (m) => m.turn_id === task.task_id);
    expect(cancel).toMatchObject({ action: 'cancel', session_id: 'slow', turn_id: task.task_id, reason: 'api/asr timeout' });
    // Late events for it go nowhere and harm nothing.
    await rig.pipe.deliver({ type: 'reply_done', session_id: 'slow', turn_id: task.task_id, task_id: task.task_id, text: 'late' });
  });

  it('/control/stop publishes a stop for the session; 400 without sessionId', async () => {
    const r = await post('/control/stop', { sessionId: 'stop-me' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true });
    const [ev] = await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === 'stop-me');
    expect(ev).toMatchObject({ action: 'stop', session_id: 'stop-me', reason: 'control/stop' });
    expect(ev.turn_id).toBeUndefined();
    for (const body of [{}, { sessionId: '' }, { session: 'x' }]) {
      const bad = await post('/control/stop', body);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as Json).error).toMatch(/sessionId is required/);
    }
    expect((await fetch(rig.rig.gateway.url + '/control/stop', { method: 'POST' })).status).toBe(400);
  });

  it('lets programs on this machine in without a token, but not web pages of other sites', async () => {
    const evil = { origin: 'https://evil.example' };
    const denied = await post('/control/stop', { sessionId: 'x' }, evil);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as Json).error).toMatch(/unauthorized/);
    expect((await post('/control/stop', { sessionId: 'x' }, { origin: 'null' })).status).toBe(401);
    expect((await post('/api/asr', { sessionId: 'x', audio: 'AAAA' }, evil)).status).toBe(401);
    expect((await post('/control/stop', { sessionId: 'x' }, { ...evil, authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post('/control/stop', { sessionId: 'x' }, { ...evil, authorization: `Bearer ${rig.rig.token}` })).status).toBe(200);
    expect((await post('/control/stop', { sessionId: 'x' }, { origin: 'http://localhost:5173' })).status).toBe(200);
    expect((await post('/control/stop', { sessionId: 'x' }, { origin: 'http://127.0.0.1:8000' })).status).toBe(200);
    // WebSockets carry Origin too.
    const ws = await WsClient.open(`${rig.rig.ws}/ws/input`, evil);
    expect((await ws.json()).error).toMatch(/unauthorized/);
    expect((await ws.closed).code).toBe(4401);
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/x`, evil);
    expect((await out.closed).code).toBe(4401);
    const withToken = await WsClient.open(`${rig.rig.ws}/ws/input?token=${rig.rig.token}`, evil);
    expect((await withToken.json()).action).toBe('task_id_assigned');
    withToken.close();
  });
});

// Another machine: reach the gateway through this machine's own non-loopback address.
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('seed endpoints from another address', () => {
  it.skipIf(!lanAddress)('need the token when the client is not on loopback (skipped: this machine has no non-loopback IPv4 address)', async () => {
    const backend = await startBackend('embedded');
    const rig = await startVoiceGateway(backend, {}, lanAddress!);
    try {
      const port = rig.gateway.port;
      const url = `http://${lanAddress}:${port}`;
      const post = (headers: Record<string, string>) => fetch(url + '/control/stop', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"sessionId":"lan"}' });
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: `Bearer ${rig.token}` })).status).toBe(200);
      const ws = await WsClient.open(`ws://${lanAddress}:${port}/ws/input`);
      expect((await ws.closed).code).toBe(4401);
    } finally {
      await rig.close();
      await backend.stop();
    }
  });
});

describe('POST /api/asr while the gateway closes', () => {
  it('answers 503 at once instead of holding the shutdown', async () => {
    const backend = await startBackend('embedded');
    const rig = await startVoiceGateway(backend, { asrTimeoutMs: 20_000 });
    try {
      const res = fetch(rig.gateway.url + '/api/asr', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: 'bye', audio: 'AAAA' }) });
      await sleep(200);
      const t0 = Date.now();
      await rig.close();
      const r = await res;
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(r.status).toBe(503);
      expect(((await r.json()) as Json).error).toMatch(/shutting down/);
    } finally {
      await backend.stop();
    }
  });
});
