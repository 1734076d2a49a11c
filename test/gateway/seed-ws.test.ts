/**
 * The seed's WebSocket protocol (`/ws/input`, `/ws/output/{task_id}`) against a real gateway on a
 * real bus, with a fake pipeline: message shapes and order exactly as the seed published them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '../../src/shared/voice.js';
import { BACKENDS, audioEvent, pcm, startRig, startVoiceGateway, WsClient, FakePipeline, sleep, waitFor, type Json } from './helpers.js';
import { startBackend } from '../supervisor/helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(BACKENDS)('seed WebSocket protocol on %s', (kind) => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    rig = await startRig(kind);
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const input = async (query = '') => {
    const c = await WsClient.open(`${rig.rig.ws}/ws/input${query}`);
    const hello = await c.json();
    expect(hello).toEqual({ type: 'system', action: 'task_id_assigned', task_id: expect.stringMatching(UUID) });
    return { c, taskId: hello.task_id as string };
  };
  const chunk = (c: WsClient, type: 'text' | 'audio', id: number, bytes: Buffer) => {
    c.send({ type, chunk_id: id, action: 'data_chunk' });
    c.send(bytes);
  };

  it('queues a chunked text upload and delivers its buffered output to a late output socket, in order', async () => {
    const { c, taskId } = await input();
    chunk(c, 'text', 0, Buffer.from('Hello, '));
    // A repeated chunk id is refused with the seed's wording; its binary frame is dropped.
    chunk(c, 'text', 0, Buffer.from('DROPPED'));
    expect(await c.json()).toEqual({ status: 'error', error: 'Chunk ID mismatch: expected 1, got 0' });
    // A multi-byte character split across chunks is decoded from the joined bytes.
    const heart = Buffer.from(' wörld ♥', 'utf8');
    chunk(c, 'text', 1, heart.subarray(0, heart.length - 1));
    chunk(c, 'text', 2, heart.subarray(heart.length - 1));
    c.send({ action: 'upload_complete' });
    expect(await c.json()).toEqual({ type: 'system', action: 'upload_processed', status: 'queued', task_id: taskId });

    const task = await rig.pipe.nextInput();
    expect(task).toMatchObject({ type: 'text', source: 'seed', text: 'Hello,  wörld ♥', session_id: 'default', task_id: taskId, turn_id: taskId, event_id: expect.any(String) });
    expect(task.marks.input).toBeGreaterThan(0);

    // The pipeline answers before anyone listens: audio starts before the reply text is complete.
    const a0 = pcm(480, 1);
    const a1 = pcm(240, 7);
    const s = 'default';
    await rig.pipe.deliver(
      { type: 'transcript', session_id: s, turn_id: taskId, task_id: taskId, text: 'Hello, world', final: true },
      { type: 'reply_delta', session_id: s, turn_id: taskId, task_id: taskId, text: 'Hi ' },
      audioEvent(s, taskId, 0, a0),
      { type: 'reply_done', session_id: s, turn_id: taskId, task_id: taskId, text: 'Hi there.' },
      audioEvent(s, taskId, 1, a1),
      { type: 'audio_end', session_id: s, turn_id: taskId, task_id: taskId, chunks: 2 },
      { type: 'turn_end', session_id: s, turn_id: taskId, task_id: taskId, reason: 'done' },
    );
    await sleep(100);
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    expect(await out.json()).toEqual({ type: 'audio_chunk', task_id: taskId, chunk_id: 0, total_chunks: null });
    expect((await out.bin()).equals(a0)).toBe(true);
    expect(await out.json()).toEqual({ status: 'success', task_id: taskId, content: 'Hi there.', audio_present: true });
    expect(await out.json()).toEqual({ type: 'audio_chunk', task_id: taskId, chunk_id: 1, total_chunks: null });
    expect((await out.bin()).equals(a1)).toBe(true);
    expect(await out.json()).toEqual({ type: 'control', action: 'END', task_id: taskId });
    expect((await out.closed).code).toBe(1000);
    expect(out.received).toEqual([]);

    // One task per connection, as in the seed.
    chunk(c, 'text', 0, Buffer.from('again'));
    expect((await c.json()).error).toMatch(/upload is complete.*open a new \/ws\/input connection/);
    c.close();
    // The task is finished: its output cannot be claimed again.
    const again = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    expect((await again.json()).error).toMatch(/unknown task_id/);
    expect((await again.closed).code).toBe(4404);
  });

  it('streams to an output socket opened before the upload; other tasks and sessions do not leak in', async () => {
    const { c, taskId } = await input('?session=studio-7');
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    await sleep(50);
    const bytes = Buffer.from([0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 5]);
    c.send({ type: 'audio', chunk_id: 0, action: 'data_chunk', content_type: 'audio/wav' });
    c.send(bytes.subarray(0, 4));
    chunk(c, 'audio', 1, bytes.subarray(4));
    c.send({ action: 'upload_complete' });
    expect((await c.json()).action).toBe('upload_processed');
    const task = await rig.pipe.nextInput();
    expect(task).toMatchObject({ type: 'audio', source: 'upload', session_id: 'studio-7', task_id: taskId, content_type: 'audio/wav' });
    expect(Buffer.from(task.audio_b64!, 'base64').equals(bytes)).toBe(true);
    expect(task.marks.speech_end).toBe(task.marks.input);

    const s = 'studio-7';
    await rig.pipe.deliver(
      audioEvent(s, 'another-task', 0, pcm(10)),
      { type: 'error', session_id: s, turn_id: taskId, task_id: taskId, stage: 'tts', code: 'tts_failed', message: 'sentence 0: the voice is missing' },
      audioEvent(s, taskId, 0, pcm(20)),
      { type: 'stop', session_id: s, turn_id: taskId, task_id: taskId, reason: 'barge-in' },
      audioEvent(s, taskId, 1, pcm(20)),
    );
    expect(await out.json()).toEqual({ status: 'error', error: 'sentence 0: the voice is missing' });
    expect(await out.json()).toMatchObject({ type: 'audio_chunk', chunk_id: 0 });
    expect((await out.bin()).byteLength).toBe(40);
    expect(await out.json()).toEqual({ status: 'error', error: 'the turn was stopped (barge-in)' });
    expect(await out.json()).toEqual({ type: 'control', action: 'END', task_id: taskId });
    expect((await out.closed).code).toBe(1000);
    expect(out.received).toEqual([]);
    c.close();
  });

  it('says audio_present false for an empty reply, and ends at audio_end', async () => {
    const { c, taskId } = await input();
    chunk(c, 'text', 0, Buffer.from('...'));
    c.send({ action: 'upload_complete' });
    await c.json();
    await rig.pipe.nextInput();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    await sleep(50);
    await rig.pipe.deliver(
      { type: 'reply_done', session_id: 'default', turn_id: taskId, task_id: taskId, text: ' ' },
      { type: 'audio_end', session_id: 'default', turn_id: taskId, task_id: taskId, chunks: 0 },
    );
    expect(await out.json()).toEqual({ status: 'success', task_id: taskId, content: ' ', audio_present: false });
    expect(await out.json()).toEqual({ type: 'control', action: 'END', task_id: taskId });
    c.close();
  });

  it('refuses bad chunks with clear errors and keeps the socket usable', async () => {
    const { c, taskId } = await input();
    c.sendText('{not json');
    expect((await c.json()).error).toMatch(/^invalid JSON/);
    c.send({ action: 'launch' });
    expect((await c.json()).error).toBe('unknown action "launch": expected "data_chunk" or "upload_complete"');
    c.send(Buffer.from('stray'));
    expect((await c.json()).error).toBe('binary frame without data_chunk metadata before it');
    c.send({ action: 'upload_complete' });
    expect((await c.json()).error).toMatch(/upload_complete without any data/);
    c.send({ type: 'video', chunk_id: 0, action: 'data_chunk' });
    expect((await c.json()).error).toMatch(/invalid chunk type "video"/);
    c.send(Buffer.from('x')); // the refused chunk's bytes are dropped silently
    c.send({ type: 'text', chunk_id: 'one', action: 'data_chunk' });
    expect((await c.json()).error).toMatch(/invalid chunk_id "one"/);
    c.send(Buffer.from('x'));
    chunk(c, 'text', 0, Buffer.from('hi'));
    chunk(c, 'audio', 1, Buffer.from('zz'));
    expect((await c.json()).error).toBe('chunk 1 is audio but this upload is text: one upload has one type');
    c.send({ type: 'text', chunk_id: 1, action: 'data_chunk' });
    c.send({ action: 'upload_complete' });
    expect((await c.json()).error).toBe('upload_complete before the binary frame of chunk 1');
    c.send(Buffer.from(' there'));
    c.send({ action: 'upload_complete' });
    expect(await c.json()).toMatchObject({ action: 'upload_processed', task_id: taskId });
    expect((await rig.pipe.nextInput()).text).toBe('hi there');
    c.close();
  });

  it('refuses an upload over the limits, and the output socket hears it', async () => {
    const { c, taskId } = await input();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    chunk(c, 'audio', 0, Buffer.alloc(40 * 1024));
    chunk(c, 'audio', 1, Buffer.alloc(40 * 1024)); // 80 KiB > maxBytes 64 KiB
    const err = 'upload too large: more than 65536 bytes (the limit is settings input.maxBytes)';
    expect(await c.json()).toEqual({ status: 'error', error: err });
    expect(await out.json()).toEqual({ status: 'error', error: err });
    expect(await out.json()).toEqual({ type: 'control', action: 'END', task_id: taskId });
    c.send({ action: 'upload_complete' });
    expect((await c.json()).error).toMatch(/refused: open a new \/ws\/input connection/);
    c.close();

    const t = await input();
    chunk(t.c, 'text', 0, Buffer.from('x'.repeat(201)));
    t.c.send({ action: 'upload_complete' });
    expect((await t.c.json()).error).toBe('text too long: 201 characters, the limit is 200 (settings input.maxTextChars)');
    const u = await input();
    chunk(u.c, 'text', 0, Buffer.from([0xff, 0xfe]));
    u.c.send({ action: 'upload_complete' });
    expect((await u.c.json()).error).toBe('the text is not valid UTF-8');
    t.c.close();
    u.c.close();
    await sleep(100);
    expect(await rig.pipe.inputsLeft()).toBe(0);
  });

  it('tells a waiting output socket when its input connection closes without uploading', async () => {
    const { c, taskId } = await input();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    const second = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    expect((await second.json()).error).toMatch(/already has an output socket/);
    expect((await second.closed).code).toBe(4409);
    c.close();
    expect((await out.json()).error).toMatch(/closed before upload_complete/);
    expect((await out.json()).action).toBe('END');
    const unknown = await WsClient.open(`${rig.rig.ws}/ws/output/not-a-task`);
    expect((await unknown.json()).error).toMatch(/unknown task_id not-a-task/);
    expect((await unknown.closed).code).toBe(4404);
  });

  it('lists its sockets under /connections', async () => {
    const { c, taskId } = await input();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    await sleep(50);
    const list = (await (await fetch(`${rig.rig.gateway.url}/connections`)).json()) as Json;
    const paths = list.connections.map((x: Json) => x.path);
    expect(paths).toEqual(expect.arrayContaining(['/ws/input', `/ws/output/${taskId}`]));
    expect(list.total_connections).toBe(list.connections.length);
    c.close();
    out.close();
    await waitFor(async () => ((await (await fetch(`${rig.rig.gateway.url}/connections`)).json()) as Json).total_connections === 0, 'sockets gone', 3000);
  });
});

describe('seed output buffering limits', () => {
  it('forgets a task whose output socket never comes, and bounds what it buffers', async () => {
    const backend = await startBackend('embedded');
    const rig = await startVoiceGateway(backend, { seedTaskTtlMs: 400, seedBufferBytes: 10_000 });
    const pipe = await FakePipeline.start(backend.url);
    try {
      const open = async () => {
        const c = await WsClient.open(`${rig.ws}/ws/input`);
        const id = (await c.json()).task_id as string;
        c.send({ type: 'text', chunk_id: 0, action: 'data_chunk' });
        c.send(Buffer.from('hi'));
        c.send({ action: 'upload_complete' });
        await c.json();
        await pipe.nextInput();
        return { c, id };
      };
      // Five 4000-byte chunks into a 10 000-byte buffer: two fit, then one error, then END.
      const a = await open();
      const events: ClientEvent[] = [];
      for (let i = 0; i < 5; i++) events.push(audioEvent('default', a.id, i, pcm(2000, i)));
      events.push({ type: 'reply_done', session_id: 'default', turn_id: a.id, task_id: a.id, text: 'ok' });
      events.push({ type: 'audio_end', session_id: 'default', turn_id: a.id, task_id: a.id, chunks: 5 });
      await pipe.deliver(...events);
      await sleep(100);
      const out = await WsClient.open(`${rig.ws}/ws/output/${a.id}`);
      const got: Json[] = [];
      for (;;) {
        const m = await out.next();
        got.push(m.json ?? { bin: m.bin!.byteLength });
        if (m.json?.action === 'END') break;
      }
      expect(got).toEqual([
        { type: 'audio_chunk', task_id: a.id, chunk_id: 0, total_chunks: null },
        { bin: 4000 },
        { type: 'audio_chunk', task_id: a.id, chunk_id: 1, total_chunks: null },
        { bin: 4000 },
        { status: 'error', error: expect.stringMatching(/output buffer full \(10000 bytes\).*dropped/) },
        { status: 'success', task_id: a.id, content: 'ok', audio_present: true },
        { type: 'control', action: 'END', task_id: a.id },
      ]);
      expect(rig.logs.some((l) => l.msg.includes('buffer full'))).toBe(true);

      // Past the TTL with no output socket, the task and its buffer are gone.
      const b = await open();
      await pipe.deliver({ type: 'reply_done', session_id: 'default', turn_id: b.id, task_id: b.id, text: 'late' });
      await sleep(600);
      const late = await WsClient.open(`${rig.ws}/ws/output/${b.id}`);
      expect((await late.json()).error).toMatch(/unknown task_id .*expired/);
      expect(rig.logs.some((l) => l.msg.includes('expired') && l.fields?.task_id === b.id)).toBe(true);
      a.c.close();
      b.c.close();
    } finally {
      await pipe.close();
      await rig.close();
      await backend.stop();
    }
  });
});
