/**
 * The control API (`POST /api/control/<command>`, `WS /api/control`) on a real gateway and a real
 * bus with the fake pipeline: the token, each command's effect on the bus or on the session's
 * sockets, the errors (a stable code, a message naming the fix), and the WebSocket form with its
 * pushed state and forwarded session events.
 */
import os from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVE_PERSONA_KEY, CONFIG_KEY, Channels, DIALOG_ACTIVE_KEY, Queues } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import type { UserInput } from '../../../src/shared/voice.js';
import { client, tempDataDir, waitFor } from '../supervisor/helpers.js';
import { startRig, startVoiceGateway, WsClient, type Json } from './helpers.js';

let rig: Awaited<ReturnType<typeof startRig>>;
let cmd: Redis;
let base: string;

beforeAll(async () => {
  rig = await startRig('embedded');
  cmd = await client(rig.rig.backend.url);
  base = rig.rig.gateway.url;
  const config = ConfigSchema.parse({
    dataDir: tempDataDir(),
    persona: { name: 'Aria', systemPrompt: 'You are {name}.' },
    personas: [{ name: 'Pirate', systemPrompt: 'You are {name}, a pirate.' }],
  });
  await cmd.set(CONFIG_KEY, JSON.stringify(config));
});
afterAll(async () => {
  cmd?.disconnect();
  await rig?.stop();
});

async function post(command: string, body?: unknown, token: string | null = rig.rig.token): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/api/control/${command}`, { method: 'POST', headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}
const studio = (session: string, role = 'control') => WsClient.open(`${rig.rig.ws}/api/session?token=${rig.rig.token}&session=${session}&role=${role}`);
/** The next JSON event of a socket that is not a session_role notice. */
async function nextEvent(c: WsClient): Promise<Json> {
  for (;;) {
    const m = await c.next();
    if (m.json && m.json.type !== 'session_role') return m.json;
  }
}

describe('control API over HTTP', () => {
  it('needs the token: 401 with a code and where the token is', async () => {
    for (const token of [null, 'wrong']) {
      const r = await post('stop', undefined, token);
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ ok: false, code: 'unauthorized', error: expect.stringMatching(/gateway-token/) });
    }
    const ws = await WsClient.open(`${rig.rig.ws}/api/control?token=wrong`);
    expect(await ws.closed).toEqual({ code: 4401, reason: expect.stringMatching(/^unauthorized/) });
  });

  it('say puts a `say` input on fav:dialog:inputs (queued like typed text); empty or too long text is refused', async () => {
    const r = await post('say', { text: '  [joy] Hello chat!  ', session: 'deck' });
    expect(r).toMatchObject({ status: 200, json: { ok: true, command: 'say', session: 'deck', turn_id: expect.any(String) } });
    const raw = await cmd.brpop(Queues.dialogInputs, 5);
    const input = JSON.parse(raw![1]) as UserInput;
    expect(input).toMatchObject({ source: 'say', text: '[joy] Hello chat!', session_id: 'deck', turn_id: r.json.turn_id, task_id: r.json.turn_id });
    expect(input.marks.input).toBeGreaterThan(0);
    expect(await post('say', { text: '   ' })).toMatchObject({ status: 400, json: { ok: false, code: 'text_empty', error: expect.stringMatching(/"text"/) } });
    expect(await post('say', {})).toMatchObject({ status: 400, json: { code: 'text_empty' } });
    expect(await post('say', { text: 'x'.repeat(201) })).toMatchObject({ status: 400, json: { code: 'text_too_long', error: expect.stringMatching(/limit is 200/) } });
    expect(await post('say', { text: 42 })).toMatchObject({ status: 400, json: { code: 'bad_arguments', error: expect.stringMatching(/text/) } });
    expect(await cmd.llen(Queues.dialogInputs)).toBe(0);
  });

  it('stop publishes the stop button\'s ControlEvent for the session (default session when none is named)', async () => {
    expect(await post('stop')).toMatchObject({ status: 200, json: { ok: true, command: 'stop', session: 'studio' } });
    const [ev] = await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === 'studio' && m.action === 'stop');
    expect(ev.turn_id).toBeUndefined();
  });

  it('skip cancels each input waiting behind the reply (as the dialog engine keeps them), not the reply', async () => {
    const w = (id: string) => ({ session_id: 'sk', turn_id: id, task_id: id, event_id: id, ts: 1, marks: {}, source: 'typed', text: id });
    await cmd.hset(DIALOG_ACTIVE_KEY, 'sk', JSON.stringify({ active: w('playing'), waiting: [w('w1'), w('w2')] }));
    expect((await post('skip', { session: 'sk' })).json).toMatchObject({ ok: true, skipped: 2 });
    const cancels = await rig.pipe.waitOn(Channels.control, 2, (m) => m.session_id === 'sk');
    expect(cancels.map((c) => [c.action, c.turn_id])).toEqual([
      ['cancel', 'w1'],
      ['cancel', 'w2'],
    ]);
    expect((await post('skip', { session: 'nothing-waits' })).json).toMatchObject({ ok: true, skipped: 0 });
  });

  it('mute / unmute reach every socket of the session as mic_mute; the answer counts the studios', async () => {
    const page = await studio('m1');
    const overlay = await studio('m1', 'view');
    expect((await post('mute', { session: 'm1' })).json).toEqual({ ok: true, command: 'mute', session: 'm1', muted: true, studios: 1 });
    for (const c of [page, overlay]) expect(await nextEvent(c)).toEqual({ type: 'mic_mute', session_id: 'm1', muted: true, reason: 'control api' });
    expect((await post('unmute', { session: 'm1' })).json).toMatchObject({ ok: true, muted: false });
    expect(await nextEvent(page)).toMatchObject({ type: 'mic_mute', muted: false });
    page.close();
    overlay.close();
  });

  it('expression shows an emotion on the studio and the overlay; an unknown one lists the choices', async () => {
    const overlay = await studio('e1', 'view');
    expect((await post('expression', { session: 'e1', name: 'Surprised' })).json).toEqual({ ok: true, command: 'expression', session: 'e1', expression: 'surprised', sockets: 1 });
    expect(await nextEvent(overlay)).toEqual({ type: 'emotion', session_id: 'e1', turn_id: '-', emotion: 'surprised' });
    expect(await post('expression', { name: 'smug' })).toMatchObject({ status: 400, json: { code: 'unknown_expression', error: expect.stringMatching(/joy, sad/) } });
    overlay.close();
  });

  it('persona switches chat-ai (key + notice) to a configured persona by name; an unknown one lists the names', async () => {
    const sub = await client(rig.rig.backend.url);
    const notices: Json[] = [];
    sub.on('message', (_c: string, m: string) => notices.push(JSON.parse(m)));
    await sub.subscribe(Channels.persona);
    expect((await post('persona', { name: 'pirate' })).json).toMatchObject({ ok: true, persona: 'Pirate', personas: ['Aria', 'Pirate'] });
    expect(JSON.parse((await cmd.get(ACTIVE_PERSONA_KEY))!)).toMatchObject({ name: 'Pirate', systemPrompt: 'You are {name}, a pirate.' });
    expect(await post('persona', { name: 'Nobody' })).toMatchObject({ status: 404, json: { code: 'unknown_persona', error: expect.stringMatching(/Aria, Pirate/) } });
    expect((await post('state')).json).toMatchObject({ ok: true, persona: 'Pirate', muted: false, personas: ['Aria', 'Pirate'], expressions: expect.arrayContaining(['joy']), hotkeys: { pushToTalk: 'F8', mute: 'F9', stop: 'F10', skip: 'F7', pushToTalkMode: false } });
    const got = await fetch(`${base}/api/control/state`, { headers: { 'x-fav-token': rig.rig.token } });
    expect(await got.json()).toMatchObject({ ok: true, persona: 'Pirate' });
    expect(await waitFor(() => (notices.length > 0 ? notices : undefined), 'the persona notice', 5000, 10)).toEqual([expect.objectContaining({ name: 'Pirate' })]);
    expect((await post('persona', { name: 'Aria' })).json).toMatchObject({ ok: true, persona: 'Aria' });
    sub.disconnect();
  });

  it('takes a command without a body, also when a tool sends a JSON content type with it', async () => {
    const res = await fetch(`${base}/api/control/unmute`, { method: 'POST', headers: { authorization: `Bearer ${rig.rig.token}`, 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, command: 'unmute' });
    const bad = await fetch(`${base}/api/control/say`, { method: 'POST', headers: { authorization: `Bearer ${rig.rig.token}`, 'content-type': 'application/json' }, body: '{"text": ' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ ok: false, code: 'bad_arguments', error: expect.stringMatching(/invalid JSON body/) });
  });

  it('an unknown command is a 404 naming the commands', async () => {
    expect(await post('dance')).toMatchObject({ status: 404, json: { ok: false, code: 'unknown_command', error: expect.stringMatching(/mute, unmute, stop, skip, say, expression, persona/) } });
  });
});

/** An address of this machine that is not loopback (a LAN interface), if it has one. */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i?.family === 'IPv4' && !i.internal)?.address;

describe('control API from another address', () => {
  it.skipIf(!lanAddress)('answers 403 not_loopback to a peer that is not on loopback, even with the token', async () => {
    // A gateway the user bound to a LAN address: requests to it come from that address, not 127.0.0.1.
    const lan = await startVoiceGateway(rig.rig.backend, {}, lanAddress!);
    try {
      const res = await fetch(`${lan.gateway.url}/api/control/stop`, { method: 'POST', headers: { authorization: `Bearer ${lan.token}` } });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ ok: false, code: 'not_loopback', error: expect.stringMatching(/this machine only/) });
      const ws = await WsClient.open(`${lan.ws}/api/control?token=${lan.token}`);
      expect((await ws.closed).code).toBe(4403);
    } finally {
      await lan.close();
    }
  });
});

describe('control API over WebSocket', () => {
  it('answers each command with its id, pushes state on connect and on change, and forwards the session\'s events', async () => {
    const ws = await WsClient.open(`${rig.rig.ws}/api/control?token=${rig.rig.token}&session=w1`);
    expect(await ws.json()).toEqual({ type: 'state', session: 'w1', muted: false, persona: 'Aria' });
    ws.send({ command: 'mute', id: 7 });
    const three = [await ws.json(), await ws.json(), await ws.json()];
    expect(three).toEqual(
      expect.arrayContaining([
        { type: 'result', id: 7, ok: true, command: 'mute', session: 'w1', muted: true, studios: 0 },
        { type: 'state', session: 'w1', muted: true, persona: 'Aria' },
        { type: 'event', event: { type: 'mic_mute', session_id: 'w1', muted: true, reason: 'control api' } },
      ]),
    );
    await rig.pipe.deliver({ type: 'turn_state', session_id: 'w1', turn_id: 't1', state: 'speaking' });
    expect(await ws.json()).toEqual({ type: 'event', event: { type: 'turn_state', session_id: 'w1', turn_id: 't1', state: 'speaking' } });
    ws.sendText('{"command": ');
    expect(await ws.json()).toMatchObject({ type: 'result', ok: false, code: 'bad_arguments', error: expect.stringMatching(/invalid JSON/) });
    ws.send({ command: 'say', id: 'a', text: '' });
    expect(await ws.json()).toMatchObject({ type: 'result', id: 'a', ok: false, code: 'text_empty' });
    ws.send({ command: 'stop', id: 'b' });
    expect(await ws.json()).toMatchObject({ type: 'result', id: 'b', ok: true, command: 'stop', session: 'w1' });
    await rig.pipe.waitOn(Channels.control, 1, (m) => m.session_id === 'w1' && m.action === 'stop');
    ws.close();
  });
});
