/**
 * Session roles on `WS /api/session` (src/shared/session-api.ts) with real WebSocket clients against
 * the real gateway on a real bus, a fake pipeline standing in for the services: a studio (control +
 * audio) and an overlay (view, no token) open together; who gets the PCM, who may command, who may
 * report playback_done, who is let in without the token, and how the audio moves between sockets.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import type { ClientEvent } from '../../../src/shared/voice.js';
import { audioEvent, pcm, startRig, startVoiceGateway, WsClient, type Json, type Received } from './helpers.js';
import { BACKENDS, startBackend } from '../supervisor/helpers.js';

/** Roles are the gateway's business, not the bus's: one backend is enough. */
const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';

describe(`session roles on ${KIND}`, () => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    rig = await startRig(KIND);
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const url = (query: string) => `${rig.rig.ws}/api/session?${query}`;
  const studio = (session: string, extra = '') => WsClient.open(url(`token=${rig.rig.token}&session=${session}${extra}`));
  const overlay = (session: string, extra = '', headers: Record<string, string> = {}) => WsClient.open(url(`session=${session}&role=view${extra}`), headers);
  /** Waits until the socket has received a JSON frame of this type; returns everything received up to it. */
  const until = async (c: WsClient, type: string): Promise<Received[]> => {
    const got: Received[] = [];
    for (;;) {
      const m = await c.next();
      got.push(m);
      if (m.json?.type === type) return got;
    }
  };
  const errorOf = (code: string, message: RegExp) => ({ type: 'error', session_id: expect.any(String), stage: 'gateway', code, message: expect.stringMatching(message) });
  /** Both sockets are routed once an event of the session reaches both. */
  const routed = async (session: string, ...clients: WsClient[]) => {
    await rig.pipe.deliver({ type: 'turn_state', session_id: session, turn_id: '-', state: 'idle' });
    for (const c of clients) expect((await c.json()).type).toBe('turn_state');
  };

  it('a studio and an overlay open together: the audio arrives once, at the studio; the overlay gets text, emotion, state and mouth timing', async () => {
    const s = 'r-together';
    const [st, ov] = [await studio(s), await overlay(s)];
    await routed(s, st, ov);
    const a0 = pcm(2400, 1); // 100 ms at 24 kHz
    const a1 = pcm(1200, 2); // 50 ms
    const turn: ClientEvent[] = [
      { type: 'transcript', session_id: s, turn_id: 't', task_id: 't', text: 'hi there', final: true },
      { type: 'turn_state', session_id: s, turn_id: 't', state: 'thinking' },
      { type: 'reply_delta', session_id: s, turn_id: 't', task_id: 't', text: 'Hello.' },
      { type: 'emotion', session_id: s, turn_id: 't', emotion: 'joy' },
      { type: 'turn_state', session_id: s, turn_id: 't', state: 'speaking' },
      audioEvent(s, 't', 0, a0, { visemes: [{ t_ms: 0, v: 'sil' }, { t_ms: 40, v: 'E' }], envelope: [0, 0.4, 0.8, 0.6, 0.2] }),
      audioEvent(s, 't', 1, a1, { chunk: 1, envelope: [0.3, 0.1, 0], visemes: [] }),
      { type: 'reply_done', session_id: s, turn_id: 't', task_id: 't', text: 'Hello.' },
      { type: 'audio_end', session_id: s, turn_id: 't', task_id: 't', chunks: 2 },
      { type: 'turn_end', session_id: s, turn_id: 't', task_id: 't', reason: 'done' },
    ];
    await rig.pipe.deliver(...turn);
    const atStudio = await until(st, 'turn_end');
    const atOverlay = await until(ov, 'turn_end');
    // PCM: both chunks at the studio, none at the overlay.
    const bins = atStudio.filter((m) => m.bin).map((m) => m.bin!);
    expect(bins).toHaveLength(2);
    expect(bins[0]!.equals(a0) && bins[1]!.equals(a1)).toBe(true);
    expect(atOverlay.filter((m) => m.bin)).toEqual([]);
    // The overlay: every other event as published, and each chunk's timing in place of its audio.
    const timing = (e: ClientEvent, duration_ms: number) => {
      const { pcm_b64: _p, format: _f, sample_rate: _r, ...rest } = e as Extract<ClientEvent, { type: 'audio' }>;
      return { ...rest, type: 'audio_timing', duration_ms };
    };
    const expected = turn.map((e) => (e.type !== 'audio' ? e : timing(e, e.seq === 0 ? 100 : 50)));
    expect(atOverlay.map((m) => m.json)).toEqual(expected);
    expect(atStudio.filter((m) => m.json).map((m) => m.json.type)).toEqual(turn.map((e) => e.type));
    st.close();
    ov.close();
  });

  it('refuses a view socket\'s commands and mic audio with a clear error, and keeps it open', async () => {
    const s = 'r-readonly';
    const [st, ov] = [await studio(s), await overlay(s)];
    await routed(s, st, ov);
    ov.send({ type: 'text', text: 'from the overlay' });
    expect(await ov.json()).toEqual(errorOf('read_only', /'text' refused: this is a read-only view socket.*role=control/));
    for (const cmd of [{ type: 'mic_start' }, { type: 'stop' }, { type: 'mic_stop' }]) {
      ov.send(cmd);
      expect(await ov.json()).toEqual(errorOf('read_only', new RegExp(`'${cmd.type}' refused`)));
    }
    ov.send(pcm(160));
    expect(await ov.json()).toEqual(errorOf('read_only', /mic audio refused/));
    // Nothing of it reached the pipeline: the studio's text is the next input, its stop the only one.
    st.send({ type: 'text', text: 'from the studio' });
    st.send({ type: 'stop' });
    expect((await rig.pipe.nextInput()).text).toBe('from the studio');
    await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === s);
    st.send({ type: 'mic_start' });
    const mic = await rig.pipe.waitOn(Channels.mic, 1, (m) => m.session_id === s);
    expect(mic.map((m: Json) => m.kind)).toEqual(['start']); // the overlay's mic_start and PCM never went out
    expect(rig.pipe.rec.msgs(Channels.control).filter((m: Json) => m.session_id === s)).toHaveLength(1);
    expect(await rig.pipe.inputsLeft()).toBe(0);
    // Still connected and fed.
    await rig.pipe.deliver({ type: 'reply_delta', session_id: s, turn_id: 'u', task_id: 'u', text: 'still here' });
    expect((await ov.json()).text).toBe('still here');
    st.close();
    ov.close();
  });

  it('takes playback_done only from the audio socket', async () => {
    const s = 'r-playback';
    const st = await studio(s);
    const second = await studio(s, '&audio=0');
    const ov = await overlay(s);
    await routed(s, st, second, ov);
    second.send({ type: 'playback_done', turn_id: 'p-1' });
    expect(await second.json()).toEqual(errorOf('not_audio_socket', /playback_done ignored: only the session's audio socket.*claim_audio/));
    ov.send({ type: 'playback_done', turn_id: 'p-1' });
    expect(await ov.json()).toEqual(errorOf('not_audio_socket', /playback_done ignored/));
    st.send({ type: 'playback_done', turn_id: 'p-2' });
    const [done] = await rig.pipe.waitOn(Channels.events, 1, (m) => m.session_id === s);
    expect(done).toMatchObject({ kind: 'playback_done', turn_id: 'p-2' });
    expect(rig.pipe.rec.msgs(Channels.events).filter((m: Json) => m.session_id === s)).toHaveLength(1);
    for (const c of [st, second, ov]) c.close();
  });

  it('one audio socket per session: the latest claim takes it with notice, and it goes back when the claimer closes', async () => {
    const s = 'r-claim';
    const st = await studio(s);
    const ov = await overlay(s);
    await routed(s, st, ov);
    // The overlay plays the voice (into OBS) instead: the studio is told and stops getting PCM.
    ov.send({ type: 'claim_audio' });
    expect(await ov.json()).toEqual({ type: 'session_role', session_id: s, role: 'view', audio: true, reason: expect.stringMatching(/claimed/) });
    expect(await st.json()).toEqual({ type: 'session_role', session_id: s, role: 'control', audio: false, reason: expect.stringMatching(/another socket.*claim_audio/) });
    const bytes = pcm(240, 3);
    await rig.pipe.deliver(audioEvent(s, 'c1', 0, bytes));
    expect((await ov.json()).type).toBe('audio');
    expect((await ov.bin()).equals(bytes)).toBe(true);
    expect((await st.json()).type).toBe('audio_timing');
    // The audio socket's playback_done counts, whatever its role.
    ov.send({ type: 'playback_done', turn_id: 'c1' });
    await rig.pipe.waitOn(Channels.events, 1, (m) => m.session_id === s && m.turn_id === 'c1');
    // A new studio window connecting with the audio (the default for control) takes it again.
    const st2 = await studio(s);
    expect(await ov.json()).toMatchObject({ type: 'session_role', audio: false });
    // It closes: the audio goes back to the overlay, the claim before it.
    st2.close();
    expect(await ov.json()).toEqual({ type: 'session_role', session_id: s, role: 'view', audio: true, reason: expect.stringMatching(/closed/) });
    await rig.pipe.deliver(audioEvent(s, 'c2', 0, bytes));
    expect((await ov.json()).type).toBe('audio');
    expect((await ov.bin()).equals(bytes)).toBe(true);
    expect((await st.json()).type).toBe('audio_timing');
    // The overlay closes too: the studio, the first claim, has it back.
    ov.close();
    expect(await st.json()).toMatchObject({ type: 'session_role', role: 'control', audio: true });
    await rig.pipe.deliver(audioEvent(s, 'c3', 0, bytes));
    expect((await st.json()).type).toBe('audio');
    expect((await st.bin()).equals(bytes)).toBe(true);
    st.close();
  });

  it('lets a view socket in without the token only from this machine and not from web pages of other sites', async () => {
    const s = 'r-access';
    const ok = [await overlay(s), await overlay(s, '', { origin: 'http://127.0.0.1:8000' }), await overlay(s, '', { origin: 'http://localhost:5173' }), await overlay(s, `&token=${rig.rig.token}`, { origin: 'https://evil.example' })];
    await routed(s, ...ok);
    for (const origin of ['https://evil.example', 'null']) {
      const denied = await overlay(s, '', { origin });
      expect(await denied.closed).toEqual({ code: 4401, reason: expect.stringMatching(/unauthorized: a view socket without \?token=/) });
    }
    const wrongToken = await overlay(s, '&token=wrong', { origin: 'https://evil.example' });
    expect((await wrongToken.closed).code).toBe(4401);
    // Control still needs the token, even on this machine.
    const control = await WsClient.open(url(`session=${s}&role=control`));
    expect(await control.closed).toEqual({ code: 4401, reason: expect.stringMatching(/token/) });
    for (const c of ok) c.close();
  });

  it('refuses an unknown role or audio value, naming the choices', async () => {
    const role = await WsClient.open(url(`token=${rig.rig.token}&session=q&role=admin`));
    expect(await role.closed).toEqual({ code: 4400, reason: expect.stringMatching(/invalid \?role=: control .* or view/) });
    const audio = await WsClient.open(url(`token=${rig.rig.token}&session=q&audio=yes`));
    expect(await audio.closed).toEqual({ code: 4400, reason: expect.stringMatching(/invalid \?audio=: 1 .* or 0/) });
  });
});

// Another machine: reach the gateway through this machine's own non-loopback address.
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('view sockets from another address', () => {
  it.skipIf(!lanAddress)('need the token (skipped: this machine has no non-loopback IPv4 address)', async () => {
    const backend = await startBackend(KIND);
    const rig = await startVoiceGateway(backend, {}, lanAddress!);
    try {
      const base = `ws://${lanAddress}:${rig.gateway.port}/api/session?session=lan&role=view`;
      const denied = await WsClient.open(base);
      expect((await denied.closed).code).toBe(4401);
      const allowed = await WsClient.open(`${base}&token=${rig.token}`);
      allowed.send({ type: 'claim_audio' });
      expect(await allowed.json()).toMatchObject({ type: 'session_role', role: 'view', audio: true });
      allowed.close();
    } finally {
      await rig.close();
      await backend.stop();
    }
  });
});
