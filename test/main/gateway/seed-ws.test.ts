/**
 * The seed's WebSocket protocol (`/ws/input`, `/ws/output/{task_id}`) against a real gateway on a
 * real bus, with a fake pipeline: message shapes and order exactly as the seed's front end
 * (`useApi.js`) expects them: the text result, then the reply audio as one WAV file in numbered
 * chunks with `total_chunks`, then `audio_complete`, then the server closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import type { ClientEvent } from '../../../src/shared/voice.js';
import { BACKENDS, audioEvent, pcm, startRig, startVoiceGateway, WsClient, FakePipeline, waitFor, type Json, type Received } from './helpers.js';
import { startBackend } from '../supervisor/helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACK = 'File chunk received';

/** Every frame until the server closes the socket, binary frames as their byte counts. */
async function untilClosed(out: WsClient): Promise<{ frames: Received[]; code: number }> {
  const frames: Received[] = [];
  const closed = out.closed.then((c) => c.code);
  for (;;) {
    const m = await Promise.race([out.next(10_000), closed.then(() => undefined)]);
    if (m) {
      frames.push(m);
      continue;
    }
    frames.push(...out.received.splice(0));
    return { frames, code: await closed };
  }
}

/** Checks a canonical 16-bit mono WAV and returns its sample rate and PCM. */
function parseWav(file: Buffer): { rate: number; pcm: Buffer } {
  expect(file.toString('latin1', 0, 4)).toBe('RIFF');
  expect(file.readUInt32LE(4)).toBe(file.length - 8);
  expect(file.toString('latin1', 8, 16)).toBe('WAVEfmt ');
  expect([file.readUInt16LE(20), file.readUInt16LE(22), file.readUInt16LE(34)]).toEqual([1, 1, 16]);
  expect(file.toString('latin1', 36, 40)).toBe('data');
  expect(file.readUInt32LE(40)).toBe(file.length - 44);
  return { rate: file.readUInt32LE(24), pcm: file.subarray(44) };
}

/** The success message, the WAV assembled as the seed's client does (chunk_id < total_chunks), and what followed. */
function assemble(frames: Received[], taskId: string): { success: Json; wav?: Buffer; tail: Json[] } {
  const [first, ...rest] = frames;
  const success = first!.json;
  const parts: Buffer[] = [];
  let total = 0;
  let i = 0;
  while (rest[i]?.json?.type === 'audio_chunk') {
    const meta = rest[i]!.json;
    if (meta.chunk_id === 0) total = meta.total_chunks;
    expect(meta).toEqual({ type: 'audio_chunk', task_id: taskId, chunk_id: parts.length, total_chunks: total });
    expect(meta.chunk_id).toBeLessThan(total);
    parts.push(rest[i + 1]!.bin!);
    i += 2;
  }
  expect(parts.length).toBe(total);
  return { success, wav: parts.length > 0 ? Buffer.concat(parts) : undefined, tail: rest.slice(i).map((m) => m.json ?? m.text ?? m.bin) };
}

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
  /** A studio socket on the task's session: its turn_end proves the gateway has seen the whole turn. */
  const watch = (session: string) => WsClient.open(`${rig.rig.ws}/api/session?token=${rig.rig.token}&session=${session}`);
  const seenTurnEnd = async (studio: WsClient) => {
    for (;;) if ((await studio.next()).json?.type === 'turn_end') return;
  };

  it('queues a chunked text upload in its own session and gives a late output socket the text, the WAV and audio_complete', async () => {
    const { c, taskId } = await input();
    chunk(c, 'text', 0, Buffer.from('Hello, '));
    expect(await c.text()).toBe(ACK);
    // A repeated chunk id is refused in the seed's plain text; its binary frame is dropped unacknowledged.
    chunk(c, 'text', 0, Buffer.from('DROPPED'));
    expect(await c.text()).toBe('Chunk ID mismatch: expected 1, got 0');
    // A multi-byte character split across chunks is decoded from the joined bytes.
    const heart = Buffer.from(' wörld ♥', 'utf8');
    chunk(c, 'text', 1, heart.subarray(0, heart.length - 1));
    chunk(c, 'text', 2, heart.subarray(heart.length - 1));
    expect([await c.text(), await c.text()]).toEqual([ACK, ACK]);
    c.send({ action: 'upload_complete' });
    expect(await c.json()).toEqual({ type: 'system', action: 'upload_processed', status: 'queued', task_id: taskId });

    const task = await rig.pipe.nextInput();
    // As in the seed, the task is its own session.
    expect(task).toMatchObject({ type: 'text', source: 'seed', text: 'Hello,  wörld ♥', session_id: taskId, task_id: taskId, turn_id: taskId, event_id: expect.any(String) });
    expect(task.marks.input).toBeGreaterThan(0);

    // The pipeline answers before anyone listens; audio starts before the reply text is complete.
    const a0 = pcm(480, 1);
    const a1 = pcm(240, 7);
    const s = taskId;
    const studio = await watch(s);
    await rig.pipe.deliver(
      { type: 'reply_delta', session_id: s, turn_id: taskId, task_id: taskId, text: 'Hi ' },
      audioEvent(s, taskId, 0, a0),
      { type: 'reply_done', session_id: s, turn_id: taskId, task_id: taskId, text: 'Hi there.' },
      audioEvent(s, taskId, 1, a1),
      { type: 'audio_end', session_id: s, turn_id: taskId, task_id: taskId, chunks: 2 },
      { type: 'turn_end', session_id: s, turn_id: taskId, task_id: taskId, reason: 'done' },
    );
    await seenTurnEnd(studio);
    studio.close();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    const { frames, code } = await untilClosed(out);
    expect(code).toBe(1000);
    const r = assemble(frames, taskId);
    expect(r.success).toEqual({ status: 'success', task_id: taskId, content: 'Hi there.', audio_present: true, transcript: 'Hello,  wörld ♥', input_mode: 'text' });
    const wav = parseWav(r.wav!);
    expect(wav.rate).toBe(24000);
    expect(wav.pcm.equals(Buffer.concat([a0, a1]))).toBe(true);
    expect(r.tail).toEqual([{ type: 'audio_complete', task_id: taskId }]);

    // One task per connection, as in the seed.
    chunk(c, 'text', 0, Buffer.from('again'));
    expect((await c.json()).error).toMatch(/upload is complete.*open a new \/ws\/input connection/);
    c.close();
    // The task is finished: its output cannot be claimed again.
    const again = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    expect((await again.json()).error).toMatch(/unknown task_id/);
    expect((await again.closed).code).toBe(4404);
  });

  it('sends a long reply as several 64 KiB chunks at the first chunk rate; a sentence error does not end the turn', async () => {
    const { c, taskId } = await input('?session=studio-7');
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    const bytes = Buffer.from([0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 5]);
    c.send({ type: 'audio', chunk_id: 0, action: 'data_chunk', content_type: 'audio/wav' });
    c.send(bytes.subarray(0, 4));
    chunk(c, 'audio', 1, bytes.subarray(4));
    c.send({ action: 'upload_complete' });
    expect([await c.text(), await c.text()]).toEqual([ACK, ACK]);
    expect((await c.json()).action).toBe('upload_processed');
    const task = await rig.pipe.nextInput();
    expect(task).toMatchObject({ type: 'audio', source: 'upload', session_id: 'studio-7', task_id: taskId, content_type: 'audio/wav' });
    expect(Buffer.from(task.audio_b64!, 'base64').equals(bytes)).toBe(true);
    expect(task.marks.speech_end).toBe(task.marks.input);

    const s = 'studio-7';
    const big = pcm(40_000, 3); // 80 000 bytes: the file spans two chunks
    const half = pcm(1000, 9); // at 12 kHz: doubled to 2000 samples at 24 kHz
    await rig.pipe.deliver(
      audioEvent(s, 'another-task', 0, pcm(10)),
      { type: 'transcript', session_id: s, turn_id: taskId, task_id: taskId, text: 'hello th', final: false },
      { type: 'transcript', session_id: s, turn_id: taskId, task_id: taskId, text: 'hello there', final: true },
      audioEvent(s, taskId, 0, big),
      { type: 'error', session_id: s, turn_id: taskId, task_id: taskId, stage: 'tts', code: 'tts_failed', message: 'sentence 2: the voice is missing' },
      audioEvent(s, taskId, 1, half, { sample_rate: 12000 }),
      { type: 'reply_done', session_id: s, turn_id: taskId, task_id: taskId, text: 'One. Two. Three.' },
      { type: 'audio_end', session_id: s, turn_id: taskId, task_id: taskId, chunks: 2 },
    );
    const { frames, code } = await untilClosed(out);
    expect(code).toBe(1000);
    const r = assemble(frames, taskId);
    expect(r.success).toEqual({ status: 'success', task_id: taskId, content: 'One. Two. Three.', audio_present: true, transcript: 'hello there', input_mode: 'audio' });
    expect(frames[1]!.json.total_chunks).toBe(2);
    const wav = parseWav(r.wav!);
    expect(wav.rate).toBe(24000);
    expect(wav.pcm.length).toBe(big.length + 4000);
    expect(wav.pcm.subarray(0, big.length).equals(big)).toBe(true);
    expect(r.tail).toEqual([{ type: 'audio_complete', task_id: taskId }]);
    c.close();
  });

  it('says audio_present false for a reply without audio, with nothing after it', async () => {
    const { c, taskId } = await input();
    chunk(c, 'text', 0, Buffer.from('...'));
    c.send({ action: 'upload_complete' });
    await c.text();
    await c.json();
    await rig.pipe.nextInput();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    await rig.pipe.deliver(
      { type: 'reply_done', session_id: taskId, turn_id: taskId, task_id: taskId, text: ' ' },
      { type: 'audio_end', session_id: taskId, turn_id: taskId, task_id: taskId, chunks: 0 },
    );
    const { frames, code } = await untilClosed(out);
    expect(frames.map((f) => f.json)).toEqual([{ status: 'success', task_id: taskId, content: ' ', audio_present: false, transcript: '...', input_mode: 'text' }]);
    expect(code).toBe(1000);
    c.close();
  });

  it('ends a failed turn and a stopped turn with an error, then closes', async () => {
    const failed = await input();
    chunk(failed.c, 'audio', 0, Buffer.from('noise'));
    failed.c.send({ action: 'upload_complete' });
    await failed.c.text();
    await failed.c.json();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${failed.taskId}`);
    const id = failed.taskId;
    await rig.pipe.deliver(
      { type: 'error', session_id: id, turn_id: id, task_id: id, stage: 'input', code: 'audio_corrupt', message: 'the recording is damaged: re-record it' },
      { type: 'turn_end', session_id: id, turn_id: id, task_id: id, reason: 'error' },
    );
    const f = await untilClosed(out);
    expect(f.frames.map((m) => m.json)).toEqual([{ status: 'error', task_id: id, error: 'the recording is damaged: re-record it' }]);
    expect(f.code).toBe(1000);

    const stopped = await input();
    chunk(stopped.c, 'text', 0, Buffer.from('talk a lot'));
    stopped.c.send({ action: 'upload_complete' });
    await stopped.c.text();
    await stopped.c.json();
    await rig.pipe.nextInput();
    await rig.pipe.nextInput();
    const out2 = await WsClient.open(`${rig.rig.ws}/ws/output/${stopped.taskId}`);
    // The seed's client stops a task by its id.
    const res = await fetch(`${rig.rig.gateway.url}/control/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: stopped.taskId }) });
    expect(res.status).toBe(200);
    const [ctl] = await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === stopped.taskId);
    expect(ctl).toMatchObject({ action: 'stop', session_id: stopped.taskId });
    const t = stopped.taskId;
    await rig.pipe.deliver(audioEvent(t, t, 0, pcm(100)), { type: 'stop', session_id: t, turn_id: t, task_id: t, reason: 'control/stop' }, audioEvent(t, t, 1, pcm(100)));
    const g = await untilClosed(out2);
    expect(g.frames.map((m) => m.json)).toEqual([{ status: 'error', task_id: t, error: 'the turn was stopped (control/stop)' }]);
    failed.c.close();
    stopped.c.close();
  });

  it('answers a merged input with the reply of the turn it was folded into', async () => {
    const upload = async (text: string) => {
      const x = await input('?session=merge-1');
      chunk(x.c, 'text', 0, Buffer.from(text));
      x.c.send({ action: 'upload_complete' });
      await x.c.text();
      await x.c.json();
      await rig.pipe.nextInput();
      return x;
    };
    const a = await upload('first');
    const b = await upload('second');
    const outA = await WsClient.open(`${rig.rig.ws}/ws/output/${a.taskId}`);
    const outB = await WsClient.open(`${rig.rig.ws}/ws/output/${b.taskId}`);
    const s = 'merge-1';
    await rig.pipe.deliver(
      { type: 'turn_end', session_id: s, turn_id: b.taskId, task_id: b.taskId, reason: 'merged', merged_into: a.taskId },
      { type: 'reply_done', session_id: s, turn_id: a.taskId, task_id: a.taskId, text: 'Both answered.' },
      audioEvent(s, a.taskId, 0, pcm(100)),
      { type: 'audio_end', session_id: s, turn_id: a.taskId, task_id: a.taskId, chunks: 1 },
      { type: 'turn_end', session_id: s, turn_id: a.taskId, task_id: a.taskId, reason: 'done' },
    );
    for (const [out, id] of [[outA, a.taskId], [outB, b.taskId]] as const) {
      const { frames, code } = await untilClosed(out);
      expect(code).toBe(1000);
      const r = assemble(frames, id);
      expect(r.success).toMatchObject({ status: 'success', task_id: id, content: 'Both answered.', audio_present: true });
      expect(parseWav(r.wav!).pcm.equals(pcm(100))).toBe(true);
      expect(r.tail).toEqual([{ type: 'audio_complete', task_id: id }]);
    }
    a.c.close();
    b.c.close();
  });

  it('stops a task in a named session by its task id, and only that turn', async () => {
    const { c, taskId } = await input('?session=shared-1');
    const res = await fetch(`${rig.rig.gateway.url}/control/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: taskId }) });
    expect(res.status).toBe(200);
    const [ctl] = await rig.pipe.waitOn(Channels.control, 1, (m) => m.turn_id === taskId);
    expect(ctl).toMatchObject({ action: 'cancel', session_id: 'shared-1', turn_id: taskId, reason: 'control/stop' });
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
    expect(await c.text()).toBe(ACK);
    chunk(c, 'audio', 1, Buffer.from('zz'));
    expect((await c.json()).error).toBe('chunk 1 is audio but this upload is text: one upload has one type');
    c.send({ type: 'text', chunk_id: 1, action: 'data_chunk' });
    c.send({ action: 'upload_complete' });
    expect((await c.json()).error).toBe('upload_complete before the binary frame of chunk 1');
    c.send(Buffer.from(' there'));
    expect(await c.text()).toBe(ACK);
    c.send({ action: 'upload_complete' });
    expect(await c.json()).toMatchObject({ action: 'upload_processed', task_id: taskId });
    expect((await rig.pipe.nextInput()).text).toBe('hi there');
    c.close();
  });

  it('refuses an upload over the limits, and the output socket hears it and closes', async () => {
    const { c, taskId } = await input();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    chunk(c, 'audio', 0, Buffer.alloc(40 * 1024));
    chunk(c, 'audio', 1, Buffer.alloc(40 * 1024)); // 80 KiB > maxBytes 64 KiB
    const err = 'upload too large: more than 65536 bytes (the limit is settings input.maxBytes)';
    expect(await c.text()).toBe(ACK);
    expect(await c.json()).toEqual({ status: 'error', error: err });
    const f = await untilClosed(out);
    expect(f.frames.map((m) => m.json)).toEqual([{ status: 'error', task_id: taskId, error: err }]);
    c.send({ action: 'upload_complete' });
    expect((await c.json()).error).toMatch(/refused: open a new \/ws\/input connection/);
    c.close();

    const t = await input();
    chunk(t.c, 'text', 0, Buffer.from('x'.repeat(201)));
    t.c.send({ action: 'upload_complete' });
    expect(await t.c.text()).toBe(ACK);
    expect((await t.c.json()).error).toBe('text too long: 201 characters, the limit is 200 (settings input.maxTextChars)');
    const u = await input();
    chunk(u.c, 'text', 0, Buffer.from([0xff, 0xfe]));
    u.c.send({ action: 'upload_complete' });
    expect(await u.c.text()).toBe(ACK);
    expect((await u.c.json()).error).toBe('the text is not valid UTF-8');
    // A good upload after the refused ones is the next InputTask: none of them was queued.
    const v = await input();
    chunk(v.c, 'text', 0, Buffer.from('fine'));
    v.c.send({ action: 'upload_complete' });
    expect((await rig.pipe.nextInput()).task_id).toBe(v.taskId);
    for (const x of [t, u, v]) x.c.close();
  });

  it('tells a waiting output socket when its input connection closes without uploading, then closes it', async () => {
    const { c, taskId } = await input();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    const second = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    expect((await second.json()).error).toMatch(/already has an output socket/);
    expect((await second.closed).code).toBe(4409);
    c.close();
    const f = await untilClosed(out);
    expect(f.frames.map((m) => m.json)).toEqual([{ status: 'error', task_id: taskId, error: expect.stringMatching(/closed before upload_complete/) }]);
    const unknown = await WsClient.open(`${rig.rig.ws}/ws/output/not-a-task`);
    expect((await unknown.json()).error).toMatch(/unknown task_id not-a-task/);
    expect((await unknown.closed).code).toBe(4404);
  });

  it('lists its sockets under /connections', async () => {
    const { c, taskId } = await input();
    const out = await WsClient.open(`${rig.rig.ws}/ws/output/${taskId}`);
    const list = await waitFor(async () => {
      const l = (await (await fetch(`${rig.rig.gateway.url}/connections`)).json()) as Json;
      return l.connections.some((x: Json) => x.path === `/ws/output/${taskId}`) ? l : undefined;
    }, 'the output socket listed');
    expect(list.connections.map((x: Json) => x.path)).toEqual(expect.arrayContaining(['/ws/input', `/ws/output/${taskId}`]));
    expect(list.total_connections).toBe(list.connections.length);
    c.close();
    out.close();
    await waitFor(async () => ((await (await fetch(`${rig.rig.gateway.url}/connections`)).json()) as Json).total_connections === 0, 'sockets gone', 3000);
  });
});

describe('seed limits', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let rig: Awaited<ReturnType<typeof startVoiceGateway>>;
  let pipe: FakePipeline;
  beforeAll(async () => {
    backend = await startBackend('embedded');
    rig = await startVoiceGateway(backend, { seedTaskTtlMs: 400, seedBufferBytes: 10_000, maxPendingUploadBytes: 100_000 });
    pipe = await FakePipeline.start(backend.url);
  });
  afterAll(async () => {
    await pipe?.close();
    await rig?.close();
    await backend?.stop();
  });

  const open = async () => {
    const c = await WsClient.open(`${rig.ws}/ws/input`);
    return { c, id: (await c.json()).task_id as string };
  };
  const upload = async () => {
    const t = await open();
    t.c.send({ type: 'text', chunk_id: 0, action: 'data_chunk' });
    t.c.send(Buffer.from('hi'));
    t.c.send({ action: 'upload_complete' });
    await t.c.text();
    await t.c.json();
    await pipe.nextInput();
    return t;
  };

  it('cuts reply audio beyond the per-task bound, and forgets a task whose output socket never comes', async () => {
    const a = await upload();
    const out = await WsClient.open(`${rig.ws}/ws/output/${a.id}`);
    const events: ClientEvent[] = [];
    for (let i = 0; i < 5; i++) events.push(audioEvent(a.id, a.id, i, pcm(2000, i)));
    events.push({ type: 'reply_done', session_id: a.id, turn_id: a.id, task_id: a.id, text: 'ok' });
    events.push({ type: 'audio_end', session_id: a.id, turn_id: a.id, task_id: a.id, chunks: 5 });
    await pipe.deliver(...events);
    const { frames } = await untilClosed(out);
    const r = assemble(frames, a.id);
    expect(r.success).toMatchObject({ status: 'success', content: 'ok', audio_present: true });
    // Five 4000-byte chunks into a 10 000-byte bound: the first two are kept.
    expect(parseWav(r.wav!).pcm.equals(Buffer.concat([pcm(2000, 0), pcm(2000, 1)]))).toBe(true);
    expect(rig.logs.some((l) => l.msg.includes('over the buffer limit') && l.fields?.task_id === a.id)).toBe(true);

    // Past the TTL with no output socket, the task and its result are gone.
    const b = await upload();
    await pipe.deliver({ type: 'reply_done', session_id: b.id, turn_id: b.id, task_id: b.id, text: 'late' }, { type: 'audio_end', session_id: b.id, turn_id: b.id, task_id: b.id, chunks: 0 });
    await waitFor(() => rig.logs.some((l) => l.msg.includes('expired') && l.fields?.task_id === b.id), 'the task expired', 5000);
    const late = await WsClient.open(`${rig.ws}/ws/output/${b.id}`);
    expect((await late.json()).error).toMatch(/unknown task_id .*expired/);
    a.c.close();
    b.c.close();
  });

  it('bounds the bytes of unfinished uploads across sockets, refuses beyond with a clear error, and frees them on close', async () => {
    const chunk = async (c: WsClient, bytes: number) => {
      c.send({ type: 'audio', chunk_id: 0, action: 'data_chunk' });
      c.send(Buffer.alloc(bytes, 1));
    };
    const a = await open();
    const b = await open();
    const c = await open();
    await chunk(a.c, 60_000);
    expect(await a.c.text()).toBe(ACK);
    await chunk(b.c, 40_000); // 100 000 held in all: the bound
    expect(await b.c.text()).toBe(ACK);
    const out = await WsClient.open(`${rig.ws}/ws/output/${c.id}`);
    await chunk(c.c, 1);
    const refusal = (await c.c.json()).error as string;
    expect(refusal).toBe('the server is holding too many unfinished uploads (100000 bytes in all): complete or close other /ws/input uploads and try again');
    // Its output socket hears why and closes.
    expect((await untilClosed(out)).frames.map((m) => m.json)).toEqual([{ status: 'error', task_id: c.id, error: refusal }]);
    expect(rig.logs.some((l) => l.msg.includes('budget for unfinished uploads') && l.fields?.task_id === c.id)).toBe(true);

    // A completed upload gives its bytes back, and so does a socket that closes.
    b.c.send({ action: 'upload_complete' });
    expect((await b.c.json()).action).toBe('upload_processed');
    expect((await pipe.nextInput()).task_id).toBe(b.id);
    const d = await open();
    await chunk(d.c, 40_000);
    expect(await d.c.text()).toBe(ACK);
    a.c.close();
    await waitFor(async () => {
      const l = (await (await fetch(`${rig.gateway.url}/connections`)).json()) as Json;
      return l.total_connections === 3; // b, c, d
    }, 'the closed socket gone');
    const e = await open();
    await chunk(e.c, 60_000);
    expect(await e.c.text()).toBe(ACK);
    for (const x of [b, c, d, e]) x.c.close();
  });
});
