/**
 * The studio session API (`WS /api/session`) against a real gateway on a real bus with a fake
 * pipeline: token, commands up (text, mic, stop, playback_done), events down to every socket of the
 * session, audio as metadata + one binary frame (to the audio socket), refusals as error events on
 * an open socket. The roles (view, audio) are in session-roles.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import type { MicFrame } from '../../../src/shared/voice.js';
import { BACKENDS, audioEvent, pcm, RawWsClient, startRig, WsClient, sleep, waitFor, type Json, type Received } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(BACKENDS)('studio session API on %s', (kind) => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    rig = await startRig(kind, { maxMicFrameBytes: 3200, maxSocketBufferBytes: 256 * 1024 });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const open = (session: string, role?: 'control' | 'view', noAudio = false) =>
    WsClient.open(`${rig.rig.ws}/api/session?token=${rig.rig.token}&session=${session}${role ? `&role=${role}` : ''}${noAudio ? '&audio=0' : ''}`);
  const expectError = async (c: WsClient, code: string, message: RegExp) => {
    expect(await c.json()).toEqual({ type: 'error', session_id: expect.any(String), stage: 'gateway', code, message: expect.stringMatching(message) });
  };

  it('needs the token', async () => {
    for (const q of ['', '?token=', '?token=wrong&session=a']) {
      const c = await WsClient.open(`${rig.rig.ws}/api/session${q}`);
      expect(await c.closed).toEqual({ code: 4401, reason: expect.stringMatching(/unauthorized/) });
    }
    const header = await WsClient.open(`${rig.rig.ws}/api/session?session=h`, { authorization: `Bearer ${rig.rig.token}` });
    header.send({ type: 'stop' });
    await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === 'h');
    header.close();
    const bad = await open('bad session');
    expect((await bad.closed).code).toBe(4400);
  });

  it('queues typed and chat text as InputTasks with turn_id = task_id', async () => {
    const c = await open('s-text');
    c.send({ type: 'text', text: '  hello there  ' });
    c.send({ type: 'text', text: 'hi all', source: 'chat', author: 'alice' });
    const a = await rig.pipe.nextInput();
    const b = await rig.pipe.nextInput();
    expect(a).toMatchObject({ type: 'text', source: 'typed', text: 'hello there', session_id: 's-text', event_id: expect.any(String) });
    expect(a.task_id).toMatch(UUID);
    expect(a.turn_id).toBe(a.task_id);
    expect(a.marks.input).toBeGreaterThan(0);
    expect(b).toMatchObject({ source: 'chat', author: 'alice', text: 'hi all' });
    expect(b.task_id).not.toBe(a.task_id);
    c.close();
  });

  it('refuses bad commands with error events and stays open', async () => {
    const c = await open('s-bad');
    c.sendText('{"type": "text", "text": ');
    await expectError(c, 'bad_command', /^invalid JSON/);
    c.send({ type: 'dance' });
    await expectError(c, 'bad_command', /invalid command.*expected one of text, mic_start/);
    c.send({ type: 'mic_start', sample_rate: 48000 });
    await expectError(c, 'bad_command', /sample_rate/);
    c.send({ type: 'text', text: '   ' });
    await expectError(c, 'text_empty', /empty/);
    c.send({ type: 'text', text: 'y'.repeat(201) });
    await expectError(c, 'text_too_long', /201 characters, the limit is 200/);
    c.sendText(JSON.stringify({ type: 'text', text: 'z'.repeat(300 * 1024) }));
    await expectError(c, 'bad_command', /command too large/);
    c.send(pcm(160));
    await expectError(c, 'mic_not_started', /between mic_start and mic_stop/);
    c.send({ type: 'text', text: 'still here' });
    expect((await rig.pipe.nextInput()).text).toBe('still here');
    expect(c.received).toEqual([]);
    c.close();
  });

  it('publishes mic frames in order, framed by start and end, refusing bad frames', async () => {
    const c = await open('s-mic');
    const frames = [pcm(320, 1), pcm(320, 2), pcm(512, 3)];
    c.send({ type: 'mic_start', language: 'en' });
    c.send(frames[0]);
    c.send(Buffer.alloc(321)); // odd length
    c.send(frames[1]);
    c.send(Buffer.alloc(4000)); // over maxMicFrameBytes 3200
    c.send(frames[2]);
    c.send({ type: 'mic_stop' });
    await expectError(c, 'audio_corrupt', /321 bytes.*even number/);
    await expectError(c, 'audio_too_large', /4000 bytes: at most 3200/);
    const got = await rig.pipe.waitOn<MicFrame>(Channels.mic, 5, (m) => m.session_id === 's-mic');
    expect(got.map((f) => [f.kind, f.seq])).toEqual([['start', 0], ['audio', 1], ['audio', 2], ['audio', 3], ['end', 4]]);
    expect(got[0]).toMatchObject({ sample_rate: 16000, language: 'en' });
    got.slice(1, 4).forEach((f, i) => expect(Buffer.from(f.pcm_b64!, 'base64').equals(frames[i])).toBe(true));
    // After mic_stop, audio is refused again; a new mic_start counts from 0.
    c.send(pcm(10));
    await expectError(c, 'mic_not_started', /mic_start/);
    c.send({ type: 'mic_start' });
    c.send(pcm(10));
    c.close(); // closing with the mic on ends the stream
    const more = await rig.pipe.waitOn<MicFrame>(Channels.mic, 8, (m) => m.session_id === 's-mic');
    expect(more.slice(5).map((f) => [f.kind, f.seq])).toEqual([['start', 0], ['audio', 1], ['end', 2]]);
  });

  it('gives the microphone to one socket of a session at a time', async () => {
    const a = await open('s-two-mics');
    const b = await open('s-two-mics');
    a.send({ type: 'mic_start' });
    await rig.pipe.waitOn(Channels.mic, 1, (m) => m.session_id === 's-two-mics');
    b.send({ type: 'mic_start' });
    await expectError(b, 'busy', /another window/);
    b.send(pcm(10));
    await expectError(b, 'mic_not_started', /mic_start/);
    a.send({ type: 'mic_stop' });
    b.send({ type: 'mic_start' });
    const got = await rig.pipe.waitOn<MicFrame>(Channels.mic, 3, (m) => m.session_id === 's-two-mics');
    expect(got.map((f) => f.kind)).toEqual(['start', 'end', 'start']);
    a.close();
    b.close();
  });

  it('sends stop as a ControlEvent and playback_done as a TurnEvent with the turn\'s task', async () => {
    const c = await open('s-ctl');
    await sleep(30);
    await rig.pipe.deliver({ type: 'reply_done', session_id: 's-ctl', turn_id: 'turn-9', task_id: 'seed-task-9', text: 'x' });
    await c.json();
    c.send({ type: 'stop' });
    c.send({ type: 'playback_done', turn_id: 'turn-9' });
    const [stop] = await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === 's-ctl');
    expect(stop).toMatchObject({ action: 'stop', session_id: 's-ctl', reason: 'stop button' });
    expect(stop.turn_id).toBeUndefined();
    const [done] = await rig.pipe.waitOn(Channels.events, 1, (m) => m.session_id === 's-ctl');
    expect(done).toMatchObject({ kind: 'playback_done', session_id: 's-ctl', turn_id: 'turn-9', task_id: 'seed-task-9', event_id: expect.any(String) });
    c.close();
  });

  it('delivers every event of a session to all its sockets; audio as metadata then one binary frame to the audio socket', async () => {
    // a: the studio (control, the audio by default); b: a second window that leaves the audio to it.
    const [a, b, other] = await Promise.all([open('s-share'), open('s-share', 'control', true), open('s-other')]);
    await sleep(50);
    const bytes = pcm(480, 5);
    const events = [
      { type: 'turn_state', session_id: 's-share', turn_id: 't1', state: 'thinking' },
      { type: 'reply_delta', session_id: 's-share', turn_id: 't1', task_id: 't1', text: 'Hel' },
      audioEvent('s-share', 't1', 0, bytes),
      { type: 'emotion', session_id: 's-share', turn_id: 't1', emotion: 'joy' },
      { type: 'turn_end', session_id: 's-share', turn_id: 't1', task_id: 't1', reason: 'done', marks: { input: 1 } },
    ] as const;
    await rig.pipe.deliver(...events);
    await rig.pipe.deliver({ type: 'turn_state', session_id: 's-other', turn_id: 't2', state: 'idle' });
    const { pcm_b64, ...meta } = events[2];
    expect(pcm_b64?.length).toBeGreaterThan(0);
    for (const c of [a, b]) {
      expect(await c.json()).toEqual(events[0]);
      expect(await c.json()).toEqual(events[1]);
      if (c === a) {
        const gotMeta = await c.json();
        expect(gotMeta).toEqual(meta);
        expect(gotMeta.pcm_b64).toBeUndefined();
        expect((await c.bin()).equals(bytes)).toBe(true);
      } else {
        // 480 samples at 24 kHz = 20 ms.
        const { format: _f, sample_rate: _r, ...timing } = meta;
        expect(await c.json()).toEqual({ ...timing, type: 'audio_timing', duration_ms: 20 });
      }
      expect(await c.json()).toEqual(events[3]);
      expect(await c.json()).toEqual(events[4]);
    }
    expect(await other.json()).toEqual({ type: 'turn_state', session_id: 's-other', turn_id: 't2', state: 'idle' });
    expect(await a.quiet(100)).toBe(true);
    // A malformed delivery is logged and skipped; the next one still arrives.
    await rig.pipe.deliverRaw('{"no":"type"}');
    await rig.pipe.deliverRaw('garbage');
    await rig.pipe.deliver({ type: 'turn_state', session_id: 's-share', turn_id: 't3', state: 'idle' });
    expect((await a.json()).turn_id).toBe('t3');
    expect(rig.rig.logs.some((l) => l.msg.includes('malformed fav:deliver'))).toBe(true);
    // The session's sockets are listed.
    const list = (await (await fetch(`${rig.rig.gateway.url}/connections`)).json()) as Json;
    expect(list.connections.filter((x: Json) => x.path === '/api/session?session=s-share&role=control')).toHaveLength(2);
    for (const c of [a, b, other]) c.close();
  });

  it('drops audio, not text, for a socket that does not keep up', async () => {
    // The slow client stops reading: the gateway's unsent bytes for it pile up past the limit.
    const slow = await RawWsClient.open(`${rig.rig.ws}/api/session?token=${rig.rig.token}&session=s-slow`);
    slow.pause();
    const fast = await open('s-slow', 'control', true);
    await sleep(50);
    const chunk = pcm(32 * 1024); // 64 KiB
    const N = 120; // 7.5 MiB: more than the kernel holds for a socket that does not read
    for (let i = 0; i < N; i++) {
      await rig.pipe.deliver(audioEvent('s-slow', 't-slow', i, chunk), { type: 'reply_delta', session_id: 's-slow', turn_id: 't-slow', task_id: 't-slow', text: `${i} ` });
    }
    await rig.pipe.deliver({ type: 'turn_end', session_id: 's-slow', turn_id: 't-slow', task_id: 't-slow', reason: 'done' });
    const count = (r: Received[]) => ({ audio: r.filter((m) => m.bin).length, deltas: r.filter((m) => m.json?.type === 'reply_delta').length });
    await waitFor(() => fast.received.some((m) => m.json?.type === 'turn_end'), 'fast socket got everything', 20_000);
    // The fast socket is not the audio socket: the timing of every chunk, no PCM.
    expect(count(fast.received)).toEqual({ audio: 0, deltas: N });
    expect(fast.received.filter((m) => m.json?.type === 'audio_timing')).toHaveLength(N);
    slow.resume();
    const got = await waitFor(() => {
      const f = slow.frames();
      return f.some((m) => m.json?.type === 'turn_end') ? f : undefined;
    }, 'slow socket got the end', 20_000);
    const s = count(got);
    expect(s.deltas).toBe(N);
    expect(s.audio).toBeLessThan(N);
    expect(s.audio).toBeGreaterThan(0);
    // Metadata and binary stay paired: every audio JSON is followed by its binary frame.
    got.forEach((m, i) => {
      if (m.json?.type === 'audio') expect(got[i + 1].bin?.byteLength).toBe(chunk.byteLength);
    });
    expect(rig.rig.logs.filter((l) => l.msg.includes('not keeping up'))).toHaveLength(1);
    slow.close();
    fast.close();
  }, 40_000);
});
