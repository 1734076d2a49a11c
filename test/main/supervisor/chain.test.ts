/**
 * All the services under one supervisor, real processes, against each bus backend: ready handshake,
 * status, a typed turn through every service (input-handler -> dialog-engine -> memory -> chat-ai
 * against the local OpenAI-compatible server -> flite TTS -> output-handler), dead letters, logs
 * (ring buffer, file, redaction), and no process left after stop().
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Channels, Queues, SERVICE_NAMES, Streams, deadLetterList, streamGroup, newEventId } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import type { AsrTask, InputTask } from '../../../src/shared/voice.js';
import { publishSettings } from '../../../src/main/app.js';
import { NodeProcessHost, Supervisor, defaultManifest } from '../../../src/main/supervisor/index.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { BACKENDS, Recorder, client, isAlive, startBackend, tempDataDir, waitFor, type Backend } from './helpers.js';

function typed(text: string): InputTask {
  const id = randomUUID();
  return { session_id: 'sess-chain', turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: {}, type: 'text', source: 'typed', text };
}

/** 0.3 s of silence as an utterance. */
function silentAsrTask(): AsrTask {
  const id = randomUUID();
  const pcm = Buffer.alloc(16000 * 2 * 0.3);
  return { session_id: 'sess-chain', turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: {}, source: 'upload', pcm_b64: pcm.toString('base64'), sample_rate: 16000, duration_ms: 300 };
}

describe.each(BACKENDS)('supervisor with all services (%s)', (kind) => {
  let bus: Backend;
  let sup: Supervisor;
  let redis: Redis;
  let rec: Recorder;
  let dataDir: string;
  let ai: OpenAiServer;

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    rec = await Recorder.open(bus.url, ['task_response:*', Channels.asrResults, Channels.aiResponses, Channels.memoryUpdates, Channels.events, Channels.deliver]);
    dataDir = tempDataDir();
    ai = await startOpenAiServer({ reply: '[joy] Hello from the chain. Nice to meet you!' });
    const settings = ConfigSchema.parse({ dataDir, llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' }, asr: { engine: 'pocketsphinx' }, tts: { engine: 'flite' } });
    await publishSettings(bus.url, settings);
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir,
      handleSignals: false,
      manifest: defaultManifest({ all: { heartbeatMs: 300, readyTimeoutMs: 60_000, stopTimeoutMs: 4000 } }),
    });
    await sup.start();
  }, 150_000);

  afterAll(async () => {
    await sup?.stop();
    await rec?.close();
    redis?.disconnect();
    await bus?.stop();
    await ai?.close();
  }, 60_000);

  it('starts every service and reports them ready with pids', () => {
    const st = sup.status();
    expect(st.map((s) => s.name)).toEqual([...SERVICE_NAMES]);
    for (const s of st) {
      expect(s.state, s.name).toBe('ready');
      expect(s.instances).toHaveLength(1);
      const pid = s.instances[0]!.pid!;
      expect(pid).toBeGreaterThan(0);
      expect(isAlive(pid)).toBe(true);
      expect(s.lastHeartbeat).toBeGreaterThan(0);
    }
    expect(new Set(st.map((s) => s.instances[0]!.pid)).size).toBe(SERVICE_NAMES.length);
  });

  it('carries a typed turn through every service to spoken audio on task_response:{task_id}', async () => {
    const t = typed('hello chain');
    await redis.lpush(Queues.input, JSON.stringify(t));
    const channel = Channels.taskResponse(t.task_id);
    const mine = (m: Record<string, unknown>) => m.task_id === t.task_id;
    // tts: audio chunks of both sentences, then the end marker.
    const end = await waitFor(() => (rec.msgs(channel) as Array<Record<string, unknown>>).find((m) => m.kind === 'end'), 'tts end marker', 60_000);
    const audio = (rec.msgs(channel) as Array<Record<string, unknown>>).filter((m) => m.kind === 'audio');
    expect(audio.length).toBeGreaterThanOrEqual(2);
    expect(new Set(audio.map((a) => a.index))).toEqual(new Set([0, 1]));
    expect(end).toMatchObject({ session_id: 'sess-chain', turn_id: t.turn_id, index: 2 });
    expect(Number(end.audio_ms)).toBeGreaterThan(500);
    // memory gave chat-ai the context with the user's text; the LLM got the persona and the text.
    const ctx = rec.msgs(Channels.memoryUpdates).find((m) => mine(m as Record<string, unknown>)) as { text: string; messages: Array<{ content: string }> };
    expect(ctx.text).toBe('hello chain');
    const body = ai.requests.find((r) => r.path.endsWith('/chat/completions'))!.body as { messages: Array<{ role: string; content: string }> };
    expect(body.messages[0]!.role).toBe('system');
    expect(body.messages.at(-1)).toMatchObject({ role: 'user', content: 'hello chain' });
    // chat-ai: the emotion tag is an event, not spoken; the reply is done with two sentences.
    const done = await waitFor(() => rec.msgs(Channels.aiResponses).find((m) => mine(m as Record<string, unknown>) && (m as { kind: string }).kind === 'done'), 'reply done');
    expect(done).toMatchObject({ text: 'Hello from the chain. Nice to meet you!', sentences: 2 });
    expect(rec.count(Channels.events, (m) => mine(m) && m.kind === 'emotion' && m.emotion === 'joy')).toBe(1);
    // output-handler delivered the turn in order to clients.
    await waitFor(() => rec.count(Channels.deliver, (m) => mine(m) && m.type === 'audio_end') === 1, 'audio_end delivered');
    const delivered = (rec.msgs(Channels.deliver) as Array<Record<string, unknown>>).filter(mine);
    const seqs = delivered.filter((d) => d.type === 'audio').map((d) => d.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(delivered.some((d) => d.type === 'reply_done' && d.text === 'Hello from the chain. Nice to meet you!')).toBe(true);
    // long-term-memory consumed the finished turn (one LtmTurn: user text and reply) through its group and acked it.
    await waitFor(async () => {
      const pending = (await redis.xpending(Streams.longTermTurns, streamGroup('long-term-memory')).catch(() => [1])) as [number, ...unknown[]];
      const len = await redis.xlen(Streams.longTermTurns);
      return len >= 1 && pending[0] === 0;
    }, 'finished turn acked');
    // Queues and processing lists are empty once the turn is through.
    for (const q of [Queues.input, Queues.dialogInputs, Queues.userInput, Queues.ttsRequests]) expect(await redis.llen(q), q).toBe(0);
    // Heartbeats report the handled count.
    await waitFor(() => sup.status().find((s) => s.name === 'tts')!.handled >= 1, 'tts handled count');
  });

  it('moves bad messages to the dead-letter list, keeps the worker up, and redacts secrets in logs', async () => {
    const asrPid = sup.status().find((s) => s.name === 'asr')!.instances[0]!.pid;
    const leaky = `not json redis://:${bus.password}@10.0.0.1:6379 apiKey=sk-abcdefghijklmnop1234`;
    await redis.lpush(Queues.asrTasks, leaky, JSON.stringify({ hello: 'no envelope' }));
    await waitFor(async () => (await redis.llen(deadLetterList(Queues.asrTasks))) === 2, 'two dead letters');
    expect(await redis.lrange(deadLetterList(Queues.asrTasks), 0, -1)).toContain(leaky);
    // Still the same process, still serving.
    const t = silentAsrTask();
    await redis.lpush(Queues.asrTasks, JSON.stringify(t));
    await waitFor(() => rec.count(Channels.asrResults, (m) => m.task_id === t.task_id) === 1, 'task after dead letters', 30_000);
    const asr = sup.status().find((s) => s.name === 'asr')!;
    expect(asr.instances[0]!.pid).toBe(asrPid);
    expect(asr.restarts).toBe(0);

    // The warning with the reason is in the ring buffer, redacted.
    const warn = await waitFor(
      () => sup.logs.tail(2000, 'asr').find((r) => r.msg.includes('dead-letter') && String(r.fields?.reason).includes('bad JSON')),
      'dead-letter log record',
    );
    expect(warn.level).toBe('warn');
    expect(JSON.stringify(warn)).not.toContain(bus.password);
    expect(JSON.stringify(warn)).not.toContain('sk-abcdefghijklmnop1234');
    expect(JSON.stringify(warn)).toContain('[REDACTED]');
    expect(sup.logs.tail(2000, 'asr').some((r) => String(r.fields?.reason).startsWith('schema:'))).toBe(true);
  });

  it('dialog-engine drops invalid control events and stays up', async () => {
    await redis.publish(Channels.control, JSON.stringify({ action: 'explode', session_id: 'sess-ctl', ts: 1 }));
    await waitFor(() => sup.logs.tail(500, 'dialog-engine').some((r) => r.msg === 'invalid message dropped' && String(r.fields?.reason).includes('action')), 'invalid control dropped');
    expect(sup.status().find((s) => s.name === 'dialog-engine')!.state).toBe('ready');
  });

  it('keeps structured records per service and globally, and writes them to <dataDir>/logs', async () => {
    const all = sup.logs.tail(5000);
    for (const name of SERVICE_NAMES) {
      const ready = all.find((r) => r.service === name && r.msg === 'ready');
      expect(ready, name).toBeDefined();
      expect(ready!.instance).toMatch(new RegExp(`^${name}@`));
      expect(ready!.level).toBe('info');
    }
    const file = `${dataDir}/logs/asr.log`;
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('dead-letter'), 'asr log file');
    const text = readFileSync(file, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { service: string });
    expect(lines.every((l) => l.service === 'asr')).toBe(true);
    expect(text).not.toContain(bus.password);
  });

  it('streams new records to subscribers and stops everything, leaving no process', async () => {
    const seen: string[] = [];
    const off = sup.logs.subscribe((r) => seen.push(`${r.service}:${r.msg}`));
    const pids = sup.status().map((s) => s.instances[0]!.pid!);
    await sup.stop();
    off();
    expect(sup.status().every((s) => s.state === 'stopped')).toBe(true);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    // Every worker said 'stopped' through its own log on the way out.
    for (const name of SERVICE_NAMES) expect(seen, name).toContain(`${name}:stopped`);
    // Heartbeat keys are removed on a clean stop.
    expect(await redis.keys('fav:hb:*')).toEqual([]);
  });
}, 90_000);
